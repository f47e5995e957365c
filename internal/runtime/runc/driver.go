// Package runc is the node runtime on runc, conmon, catatonit and CNI.
//
// Layout under Config.DataDir (nothing outside it, nothing global); the
// directories marked * are tmpfs mounts of the driver (statefs.go):
//
//	runtime/sandboxes/<id>/ * meta.json, netns (bind-mounted network
//	                          namespace), shm/ (the pod's /dev/shm tmpfs),
//	                          infra/ (bundle, conmon persist dir)
//	runtime/containers/<id>/* meta.json, config.json, conmon files (exit,
//	                          oom, ctl, winsz, attach)
//	runtime/exits/<id>      * conmon's exit files
//	runtime/socks/<id>      * conmon's attach socket links
//	runtime/runc/           * runc --root
//	runtime/cni/{cache,ipam}/ * libcni results and host-local leases
//	runtime/disk/<id>/        on disk: a sandbox's hosts, hostname,
//	                          resolv.conf; a container's rootfs (overlay
//	                          from the image store: upper/, work/, rootfs/)
//	                          and termination-log
//
// Every container (the infra one included) runs under its own conmon, so
// containers outlive the agent; a new Driver on the same DataDir adopts
// them from the files above without restarting anything.
//
// Lifecycles:
//
//	sandbox:   (RunPodSandbox) Ready --StopPodSandbox--> NotReady --RemovePodSandbox--> gone
//	container: (CreateContainer) Created --StartContainer--> Running --exit/StopContainer--> Exited --RemoveContainer--> gone
//	           Created --runc create failed--> Exited (reason StartError, exit code 128)
package runc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/peapod/peapod/internal/network"
	"github.com/peapod/peapod/internal/runtime"
)

// ImageStore is what the driver needs from the image store
// (internal/image.Store implements it).
type ImageStore interface {
	// Get returns an image by name, ID or ID prefix, or an error wrapping
	// runtime.ErrImageNotFound.
	Get(ref string) (*runtime.Image, error)
	List() ([]*runtime.Image, error)
	Remove(ref string) error
	// Pull fetches ref from its registry into the store.
	Pull(ctx context.Context, ref string, auth *runtime.AuthConfig) (*runtime.Image, error)
	// MountRootfs mounts the image's overlay at containerDir/rootfs.
	MountRootfs(ctx context.Context, imageID, containerDir string) (rootfs string, err error)
	// UnmountRootfs undoes MountRootfs; idempotent.
	UnmountRootfs(containerDir string) error
}

// Config is the driver's explicit configuration. Zero values take the
// defaults named on each field, except DataDir, Images, Bridge and PodCIDR.
type Config struct {
	// DataDir holds all runtime state (under DataDir/runtime).
	DataDir string
	// Images is the image store.
	Images ImageStore

	// Binaries: default /usr/sbin/runc, /usr/bin/conmon, /usr/bin/catatonit.
	RuncPath      string
	ConmonPath    string
	CatatonitPath string

	// CNIPluginDirs default to /usr/lib/cni.
	CNIPluginDirs []string
	// Bridge is the pod bridge (≤15 chars), unique per agent on a host.
	Bridge string
	// PodCIDR is the pod subnet, unique per agent (e.g. 10.77.1.0/24).
	PodCIDR string
	// NetworkName is the CNI network name; default "peapod-<Bridge>".
	NetworkName string
	// DisableIPMasq turns off masquerading of traffic leaving the pod CIDR
	// (cheaper CNI ADD/DEL; pods then cannot reach outside the node).
	DisableIPMasq bool

	// CgroupParent is the cgroup (relative to each hierarchy's root) under
	// which pods whose SandboxConfig has no CgroupParent get
	// "<CgroupParent>/pod-<sandbox id>"; default "peapod".
	CgroupParent string
	// LogRoot is where pods without a LogDirectory log:
	// <LogRoot>/<ns>_<name>_<uid>; default <DataDir>/pods.
	LogRoot string

	// WarmSandboxes keeps this many sandboxes ready (network namespace
	// attached to the pod network, infra container running) for pods on the
	// pod network without host namespaces or host ports: RunPodSandbox then
	// only names them (hostname, /etc files, cgroup parent). 0 disables.
	// A goroutine refills the pool until Close or Prune.
	WarmSandboxes int

	// Logf reports background problems (adoption, cleanup); default discards.
	Logf func(format string, args ...any)
}

func (c *Config) setDefaults() {
	if c.RuncPath == "" {
		c.RuncPath = "/usr/sbin/runc"
	}
	if c.ConmonPath == "" {
		c.ConmonPath = "/usr/bin/conmon"
	}
	if c.CatatonitPath == "" {
		c.CatatonitPath = "/usr/bin/catatonit"
	}
	if len(c.CNIPluginDirs) == 0 {
		c.CNIPluginDirs = []string{"/usr/lib/cni"}
	}
	if c.NetworkName == "" {
		c.NetworkName = "peapod-" + c.Bridge
	}
	if c.CgroupParent == "" {
		c.CgroupParent = "peapod"
	}
	c.CgroupParent = strings.Trim(c.CgroupParent, "/")
	if c.LogRoot == "" {
		c.LogRoot = filepath.Join(c.DataDir, "pods")
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

func (c *Config) validate() error {
	var errs []string
	if c.DataDir == "" || !filepath.IsAbs(c.DataDir) {
		errs = append(errs, fmt.Sprintf("data dir %q must be an absolute path", c.DataDir))
	}
	if c.Images == nil {
		errs = append(errs, "an image store is required")
	}
	for _, p := range []string{c.RuncPath, c.ConmonPath, c.CatatonitPath} {
		if _, err := os.Stat(p); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("runtime config: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Driver implements runtime.Service on runc.
type Driver struct {
	cfg  Config
	cni  *network.CNI
	dirs dirs

	mu       sync.Mutex
	masqDone bool // the masquerade rule is known to be installed
	// masqMu serializes installing the rule: concurrent sandboxes would
	// each find it missing (iptables -C) and append it twice.
	masqMu     sync.Mutex
	sandboxes  map[string]*sandbox
	containers map[string]*container
	lastStart  atomic.Int64 // unix ns of the last pod/container start call
	pool       []string     // warm sandboxes ready to claim
	stale      []string     // warm sandboxes found dead at adoption
	poolKick   chan struct{}
	poolStop   context.CancelFunc
	poolDone   chan struct{}
	// runcLink is the link to the sealed copy of runc that cfg.RuncPath
	// then names (runcbin.go); "" when runc runs from its path.
	runcLink string
}

var _ runtime.Service = (*Driver)(nil)

type dirs struct {
	root, sandboxes, containers, exits, socks, runcRoot, cni, disk string
}

// state lists the directories on tmpfs (statefs.go).
func (d dirs) state() []string {
	return []string{d.sandboxes, d.containers, d.exits, d.socks, d.runcRoot, d.cni}
}

// diskDir is where the object id keeps what must stay on disk.
func (d *Driver) diskDir(id string) string { return filepath.Join(d.dirs.disk, id) }

// New builds a driver from cfg, creating its directories and adopting the
// sandboxes and containers a previous driver left on disk.
func New(cfg Config) (*Driver, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	root := filepath.Join(cfg.DataDir, "runtime")
	d := &Driver{
		cfg: cfg,
		dirs: dirs{
			root:       root,
			sandboxes:  filepath.Join(root, "sandboxes"),
			containers: filepath.Join(root, "containers"),
			exits:      filepath.Join(root, "exits"),
			socks:      filepath.Join(root, "socks"),
			runcRoot:   filepath.Join(root, "runc"),
			cni:        filepath.Join(root, "cni"),
			disk:       filepath.Join(root, "disk"),
		},
		sandboxes:  map[string]*sandbox{},
		containers: map[string]*container{},
	}
	if err := os.MkdirAll(d.dirs.disk, 0o711); err != nil {
		return nil, fmt.Errorf("runtime dirs: %w", err)
	}
	for _, p := range d.dirs.state() {
		if err := mountStateFS(p); err != nil {
			return nil, fmt.Errorf("runtime dirs: %w", err)
		}
	}
	if p, err := sealedRunc(processRuncCopies, cfg.RuncPath, filepath.Join(root, "bin")); err != nil {
		cfg.Logf("runtime: running runc from %s (no sealed copy: %v)", cfg.RuncPath, err)
	} else {
		d.runcLink, d.cfg.RuncPath = p, p
	}
	cni, err := network.NewCNI(network.Config{
		PluginDirs:  cfg.CNIPluginDirs,
		CacheDir:    filepath.Join(d.dirs.cni, "cache"),
		IPAMDir:     filepath.Join(d.dirs.cni, "ipam"),
		NetworkName: cfg.NetworkName,
		Bridge:      cfg.Bridge,
		Subnet:      cfg.PodCIDR,
		IPMasq:      !cfg.DisableIPMasq,
	})
	if err != nil {
		return nil, err
	}
	d.cni = cni
	// Record what this driver owns on the host, for operators and for
	// leak checks (test/e2e runtimeLeakCheck).
	if err := writeJSON(filepath.Join(root, "driver.json"), map[string]string{
		"bridge": cfg.Bridge, "podCIDR": cfg.PodCIDR, "networkName": cfg.NetworkName,
		"cgroupParent": cfg.CgroupParent,
	}); err != nil {
		return nil, err
	}
	if err := d.adopt(); err != nil {
		return nil, err
	}
	for _, id := range d.stale {
		if err := d.removeWarm(context.Background(), id); err != nil {
			cfg.Logf("runtime: removing dead warm sandbox %s: %v", id, err)
		}
	}
	d.stale = nil
	d.poolKick = make(chan struct{}, 1)
	d.poolDone = make(chan struct{})
	if cfg.WarmSandboxes > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		d.poolStop = cancel
		go d.refillPool(ctx)
		d.kickPool()
	} else {
		close(d.poolDone)
	}
	return d, nil
}

// Close stops the warm pool's refilling. Containers and sandboxes are
// left as they are (a new driver adopts them).
func (d *Driver) Close() {
	if d.poolStop != nil {
		d.poolStop()
	}
	<-d.poolDone
}

// Prune removes node-level resources that no sandbox uses any more: the
// warm pool (stopped for good), the bridge, the masquerade rule, the
// driver's cgroup parent and its state tmpfs mounts. Call it at shutdown
// or in tests; the driver is not usable afterwards.
func (d *Driver) Prune(ctx context.Context) error {
	d.mu.Lock()
	n := 0
	for _, sb := range d.sandboxes {
		if !sb.meta().Pooled {
			n++
		}
	}
	d.mu.Unlock()
	if n > 0 {
		return fmt.Errorf("prune: %d sandboxes remain: %w", n, runtime.ErrInvalidState)
	}
	d.Close()
	if err := d.drainPool(ctx); err != nil {
		return err
	}
	removeCgroup(d.cfg.CgroupParent + "/warm")
	removeCgroup(d.cfg.CgroupParent)
	d.mu.Lock()
	d.masqDone = false
	d.mu.Unlock()
	if err := d.cni.RemoveMasquerade(ctx); err != nil {
		return err
	}
	if err := d.cni.RemoveBridge(ctx); err != nil {
		return err
	}
	var errs []error
	for _, p := range d.dirs.state() {
		errs = append(errs, unmountStateFS(p))
	}
	if d.runcLink != "" {
		os.RemoveAll(filepath.Dir(d.runcLink))
	}
	return errors.Join(errs...)
}

// ensureMasquerade installs the pod CIDR's masquerade rule once.
func (d *Driver) ensureMasquerade(ctx context.Context) error {
	d.masqMu.Lock()
	defer d.masqMu.Unlock()
	d.mu.Lock()
	done := d.masqDone
	d.mu.Unlock()
	if done {
		return nil
	}
	if err := d.cni.EnsureMasquerade(ctx); err != nil {
		return err
	}
	d.mu.Lock()
	d.masqDone = true
	d.mu.Unlock()
	return nil
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// getSandbox finds a sandbox callers may see (not a warm one).
func (d *Driver) getSandbox(id string) (*sandbox, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if sb, ok := d.sandboxes[id]; ok && !sb.meta().Pooled {
		return sb, nil
	}
	return nil, fmt.Errorf("sandbox %q: %w", id, runtime.ErrNotFound)
}

func (d *Driver) getContainer(id string) (*container, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.containers[id]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("container %q: %w", id, runtime.ErrNotFound)
}

func (d *Driver) containersOf(sandboxID string) []*container {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*container
	for _, c := range d.containers {
		if c.meta().SandboxID == sandboxID {
			out = append(out, c)
		}
	}
	return out
}
