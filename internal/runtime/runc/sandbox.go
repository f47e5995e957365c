package runc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/peapod/peapod/internal/network"
	"github.com/peapod/peapod/internal/runtime"
	"github.com/peapod/peapod/internal/runtime/oci"
)

func (d *Driver) podCgroupParent(cfg *runtime.SandboxConfig, id string) string {
	if p := strings.Trim(cfg.CgroupParent, "/"); p != "" {
		return p
	}
	return d.cfg.CgroupParent + "/pod-" + id
}

func (d *Driver) logDirectory(cfg *runtime.SandboxConfig) string {
	if cfg.LogDirectory != "" {
		return cfg.LogDirectory
	}
	return filepath.Join(d.cfg.LogRoot, fmt.Sprintf("%s_%s_%s", cfg.Namespace, cfg.Name, cfg.UID))
}

func validateSandbox(cfg *runtime.SandboxConfig) error {
	var errs []string
	if cfg == nil {
		return errors.New("sandbox config is nil")
	}
	if cfg.Name == "" || cfg.Namespace == "" || cfg.UID == "" {
		errs = append(errs, "name, namespace and uid are required")
	}
	if !cfg.HostNetwork && cfg.Hostname == "" {
		errs = append(errs, "hostname is required without hostNetwork")
	}
	for _, p := range cfg.PortMappings {
		if p.ContainerPort <= 0 || p.ContainerPort > 65535 || p.HostPort < 0 || p.HostPort > 65535 {
			errs = append(errs, fmt.Sprintf("port mapping %d->%d out of range", p.HostPort, p.ContainerPort))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("sandbox config: %s", strings.Join(errs, "; "))
	}
	return nil
}

func portMappings(in []runtime.PortMapping) []network.PortMapping {
	var out []network.PortMapping
	for _, p := range in {
		if p.HostPort == 0 {
			continue
		}
		proto := strings.ToLower(string(p.Protocol))
		if proto == "" {
			proto = "tcp"
		}
		out = append(out, network.PortMapping{HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: proto, HostIP: p.HostIP})
	}
	return out
}

// RunPodSandbox creates the network namespace, then concurrently attaches
// it to the pod network (CNI ADD) and starts the infra container with the
// pod's files; on any failure everything done so far is undone.
func (d *Driver) RunPodSandbox(ctx context.Context, cfg *runtime.SandboxConfig) (string, error) {
	if err := validateSandbox(cfg); err != nil {
		return "", err
	}
	d.touchStart()
	if d.cfg.WarmSandboxes > 0 && warmEligible(cfg) {
		if id, ok := d.claimWarm(ctx, cfg); ok {
			return id, nil
		}
	}
	return d.createSandbox(ctx, cfg, false)
}

// createSandbox builds a sandbox from scratch; pooled makes a warm one.
func (d *Driver) createSandbox(ctx context.Context, cfg *runtime.SandboxConfig, pooled bool) (_ string, err error) {
	id := newID()
	dir := filepath.Join(d.dirs.sandboxes, id)
	if err := os.Mkdir(dir, 0o711); err != nil {
		return "", fmt.Errorf("sandbox dir: %w", err)
	}
	if err := os.Mkdir(d.diskDir(id), 0o711); err != nil {
		os.Remove(dir)
		return "", fmt.Errorf("sandbox dir: %w", err)
	}
	hostname := cfg.Hostname
	if cfg.HostNetwork {
		hostname, _ = os.Hostname()
	}
	m := &sandboxMeta{
		ID: id, Config: cfg, CreatedAt: time.Now(),
		CgroupParent: d.podCgroupParent(cfg, id),
		Hostname:     hostname,
		Ports:        portMappings(cfg.PortMappings),
		Pooled:       pooled,
	}
	m.InfraCgroup = m.CgroupParent + "/" + id
	if pooled {
		m.CgroupParent, m.InfraCgroup = "", d.cfg.CgroupParent+"/warm/"+id
	}
	if !cfg.HostNetwork {
		m.NetNS = filepath.Join(dir, "netns")
	}
	if !cfg.HostIPC {
		m.Shm = filepath.Join(dir, "shm")
	}
	sb := &sandbox{dir: dir}
	sb.m.Store(m)
	// Persist before touching the host: a crash from here on leaves a
	// record that RemovePodSandbox can clean.
	if err := sb.update(func(*sandboxMeta) {}); err != nil {
		os.RemoveAll(dir)
		os.RemoveAll(d.diskDir(id))
		return "", err
	}
	d.mu.Lock()
	d.sandboxes[id] = sb
	d.mu.Unlock()
	sb.op.Lock()
	defer sb.op.Unlock()
	defer func() {
		if err != nil {
			if cerr := d.removeSandboxLocked(context.WithoutCancel(ctx), sb, true); cerr != nil {
				d.cfg.Logf("runtime: cleaning up failed sandbox %s: %v", id, cerr)
			}
		}
	}()

	if m.NetNS != "" {
		if err := network.NewNetNS(m.NetNS); err != nil {
			return "", err
		}
	}
	var wg sync.WaitGroup
	var ips []string
	var cniErr error
	if m.NetNS != "" {
		// Mark before ADD so a failed or interrupted ADD is still DELeted.
		if err := sb.update(func(m *sandboxMeta) { m.NetworkUp = true }); err != nil {
			return "", err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if cniErr = d.ensureMasquerade(ctx); cniErr != nil {
				return
			}
			ips, cniErr = d.cni.Add(ctx, id, m.NetNS, m.Ports)
		}()
	}
	pid, infraErr := d.startInfra(ctx, sb)
	wg.Wait()
	if cniErr != nil {
		return "", fmt.Errorf("pod network: %w", cniErr)
	}
	if infraErr != nil {
		return "", fmt.Errorf("infra container: %w", infraErr)
	}
	if cfg.HostNetwork {
		ips = hostIPs()
	}
	hosts := network.HostsFile(network.HostsInput{
		HostNetwork: cfg.HostNetwork,
		NodeHosts:   readFileOr("/etc/hosts"),
		PodIPs:      ips,
		Hostname:    hostname,
		FQDN:        cfg.HostnameFQDN,
		HostAliases: cfg.HostAliases,
	})
	if err := os.WriteFile(filepath.Join(d.diskDir(id), "hosts"), hosts, 0o644); err != nil {
		return "", err
	}
	start, _ := procStart(pid)
	if err := sb.update(func(m *sandboxMeta) {
		m.IPs, m.InfraPID, m.InfraStart, m.Ready = ips, pid, start, true
	}); err != nil {
		return "", err
	}
	return id, nil
}

func readFileOr(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}

// startInfra writes the pod files, mounts the pod's /dev/shm and runs
// catatonit -P under conmon.
func (d *Driver) startInfra(ctx context.Context, sb *sandbox) (int, error) {
	m := sb.meta()
	cfg := m.Config
	if err := os.WriteFile(filepath.Join(d.diskDir(m.ID), "hostname"), network.HostnameFile(m.Hostname), 0o644); err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(d.diskDir(m.ID), "resolv.conf"),
		network.ResolvConf(cfg.DNS.Searches, cfg.DNS.Servers, cfg.DNS.Options, readFileOr("/etc/resolv.conf")), 0o644); err != nil {
		return 0, err
	}
	if m.Shm != "" {
		if err := os.Mkdir(m.Shm, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return 0, err
		}
		if err := unix.Mount("shm", m.Shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k"); err != nil {
			return 0, fmt.Errorf("mounting pod shm: %w", err)
		}
	}
	bundle := filepath.Join(sb.dir, "infra")
	if err := os.MkdirAll(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
		return 0, err
	}
	ns := oci.Namespaces{
		Net: oci.Namespace{Host: cfg.HostNetwork, Path: m.NetNS},
		IPC: oci.Namespace{Host: cfg.HostIPC},
		UTS: oci.Namespace{Host: cfg.HostNetwork},
		PID: oci.Namespace{Host: cfg.HostPID},
	}
	spec := oci.InfraSpec(oci.InfraInput{
		Rootfs:      filepath.Join(bundle, "rootfs"),
		Catatonit:   d.cfg.CatatonitPath,
		Hostname:    m.Hostname,
		Namespaces:  ns,
		CgroupsPath: "/" + m.InfraCgroup,
	})
	if err := writeJSON(filepath.Join(bundle, "config.json"), spec); err != nil {
		return 0, err
	}
	pid, err := d.conmonCreate(ctx, conmonSpec{
		ID: m.ID, Name: "infra-" + cfg.Name, Bundle: bundle,
		LogPath: filepath.Join(bundle, "infra.log"),
	})
	if err != nil {
		return 0, err
	}
	start, err := procStart(pid)
	if err != nil {
		return 0, fmt.Errorf("infra process %d: %w", pid, err)
	}
	if err := d.startCreated(ctx, m.ID, pid, start); err != nil {
		return 0, err
	}
	return pid, nil
}

// hostIPs returns the IPv4 address of the interface holding the default
// route (the node's IP as hostNetwork pods report it).
func hostIPs() []string {
	b, err := os.ReadFile("/proc/net/route")
	if err != nil {
		return nil
	}
	iface := ""
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 2 && f[1] == "00000000" {
			iface = f[0]
			break
		}
	}
	return ifaceIPv4(iface)
}

// StopPodSandbox kills the sandbox's containers and the infra container
// and detaches the network (CNI DEL runs concurrently: the namespace is
// held by its bind mount, not by the infra process). Idempotent.
func (d *Driver) StopPodSandbox(ctx context.Context, id string) error {
	sb, err := d.getSandbox(id)
	if err != nil {
		return err
	}
	sb.op.Lock()
	defer sb.op.Unlock()
	sb.life.Lock()
	defer sb.life.Unlock()
	return d.stopSandboxLocked(ctx, sb)
}

func (d *Driver) stopSandboxLocked(ctx context.Context, sb *sandbox) error {
	m := sb.meta()
	var wg sync.WaitGroup
	var netErr error
	if m.NetworkUp {
		wg.Add(1)
		go func() {
			defer wg.Done()
			netErr = d.cni.Del(ctx, m.ID, m.NetNS, m.Ports)
		}()
	}
	var errs []error
	var emu sync.Mutex
	cs := d.containersOf(m.ID)
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.StopContainer(ctx, c.meta().ID, 0); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		}()
	}
	if err := d.stopInfra(ctx, sb); err != nil {
		errs = append(errs, err)
	}
	wg.Wait()
	if netErr != nil {
		errs = append(errs, netErr)
	} else if m.NetworkUp {
		if err := sb.update(func(m *sandboxMeta) { m.NetworkUp = false }); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 && !m.Stopped {
		if err := sb.update(func(m *sandboxMeta) { m.Stopped, m.Ready = true, false }); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("stopping sandbox %s: %w", m.ID, errors.Join(errs...))
	}
	return nil
}

func (d *Driver) stopInfra(ctx context.Context, sb *sandbox) error {
	m := sb.meta()
	exit := filepath.Join(d.dirs.exits, m.ID)
	if _, err := os.Stat(exit); err == nil {
		return nil
	}
	if m.InfraPID == 0 {
		// RunPodSandbox did not get as far as recording the infra PID:
		// ask runc (which may have a created or running container).
		st, err := d.runcStatus(ctx, m.ID)
		if err != nil {
			return err
		}
		if st.Status == "" || st.Status == "stopped" {
			return nil
		}
		if err := d.runcKill(ctx, m.ID, "KILL", true); err != nil {
			return err
		}
		if st.Status == "created" {
			return nil // runc delete --force finishes it
		}
	} else {
		if !alive(m.InfraPID, m.InfraStart) {
			return nil
		}
		if err := signalProcess(m.InfraPID, m.InfraStart, unix.SIGKILL); err != nil {
			return err
		}
	}
	if !waitFile(exit, 10*time.Second) {
		return fmt.Errorf("infra container %s: no exit recorded 10s after SIGKILL", m.ID)
	}
	return nil
}

// RemovePodSandbox stops the sandbox if needed and removes its
// containers, infra container, namespace, mounts, files and cgroups.
func (d *Driver) RemovePodSandbox(ctx context.Context, id string) error {
	sb, err := d.getSandbox(id)
	if err != nil {
		if errors.Is(err, runtime.ErrNotFound) {
			return nil
		}
		return err
	}
	sb.op.Lock()
	defer sb.op.Unlock()
	sb.life.Lock()
	defer sb.life.Unlock()
	return d.removeSandboxLocked(ctx, sb, false)
}

// removeSandboxLocked removes everything of the sandbox. With force (the
// rollback of a failed RunPodSandbox) a failing stop (e.g. the CNI DEL of
// a failed ADD) is logged and removal goes on; otherwise it is returned
// and the sandbox stays for a retry.
func (d *Driver) removeSandboxLocked(ctx context.Context, sb *sandbox, force bool) error {
	if err := d.stopSandboxLocked(ctx, sb); err != nil {
		if !force {
			return err
		}
		d.cfg.Logf("runtime: rollback of sandbox %s: %v", sb.meta().ID, err)
	}
	m := sb.meta()
	var errs []error
	var wg sync.WaitGroup
	var emu sync.Mutex
	for _, c := range d.containersOf(m.ID) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.RemoveContainer(ctx, c.meta().ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		}()
	}
	if err := d.runcDelete(ctx, m.ID); err != nil {
		emu.Lock()
		errs = append(errs, err)
		emu.Unlock()
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("removing sandbox %s: %w", m.ID, errors.Join(errs...))
	}
	if m.Shm != "" {
		if err := unmountAll(m.Shm); err != nil {
			errs = append(errs, err)
		}
	}
	if m.NetNS != "" {
		if err := network.RemoveNetNS(m.NetNS); err != nil {
			errs = append(errs, err)
		}
	}
	removeCgroup(m.InfraCgroup)
	if err := removeCgroup(m.CgroupParent); err != nil {
		if errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.ENOTEMPTY) {
			// Still in use: another sandbox of the same pod (the agent
			// recreated it) shares the pod's cgroup parent.
			d.cfg.Logf("runtime: sandbox %s: pod cgroup %s still in use: %v", m.ID, m.CgroupParent, err)
		} else {
			errs = append(errs, err)
		}
	}
	os.Remove(filepath.Join(d.dirs.exits, m.ID))
	os.Remove(filepath.Join(d.dirs.socks, m.ID))
	if len(errs) > 0 {
		return fmt.Errorf("removing sandbox %s: %w", m.ID, errors.Join(errs...))
	}
	if err := os.RemoveAll(d.diskDir(m.ID)); err != nil {
		return fmt.Errorf("removing sandbox %s: %w", m.ID, err)
	}
	if err := os.RemoveAll(sb.dir); err != nil {
		return fmt.Errorf("removing sandbox %s: %w", m.ID, err)
	}
	d.mu.Lock()
	delete(d.sandboxes, m.ID)
	d.mu.Unlock()
	return nil
}

// unmountAll unmounts every mount stacked at path; nothing mounted is fine.
func unmountAll(path string) error {
	for range 8 {
		err := unix.Unmount(path, unix.MNT_DETACH)
		if err != nil {
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
				return nil
			}
			return fmt.Errorf("unmount %s: %w", path, err)
		}
	}
	return nil
}

// PodSandboxStatus reports a sandbox.
func (d *Driver) PodSandboxStatus(ctx context.Context, id string) (*runtime.SandboxStatus, error) {
	sb, err := d.getSandbox(id)
	if err != nil {
		return nil, err
	}
	return d.sandboxStatus(sb), nil
}

func (d *Driver) sandboxStatus(sb *sandbox) *runtime.SandboxStatus {
	m := sb.meta()
	cfg := m.Config
	st := &runtime.SandboxStatus{
		ID: m.ID, Name: cfg.Name, Namespace: cfg.Namespace, UID: cfg.UID, Attempt: cfg.Attempt,
		State: runtime.SandboxNotReady, CreatedAt: m.CreatedAt,
		IPs: m.IPs, InfraPID: m.InfraPID, NetNSPath: m.NetNS,
		Labels: cfg.Labels, Annotations: cfg.Annotations,
	}
	if len(m.IPs) > 0 {
		st.IP = m.IPs[0]
	}
	if m.Ready && !m.Stopped && alive(m.InfraPID, m.InfraStart) {
		st.State = runtime.SandboxReady
	}
	return st
}

// ListPodSandboxes reports every sandbox, oldest first.
func (d *Driver) ListPodSandboxes(ctx context.Context) ([]*runtime.SandboxStatus, error) {
	d.mu.Lock()
	sbs := make([]*sandbox, 0, len(d.sandboxes))
	for _, sb := range d.sandboxes {
		if !sb.meta().Pooled {
			sbs = append(sbs, sb)
		}
	}
	d.mu.Unlock()
	out := make([]*runtime.SandboxStatus, 0, len(sbs))
	for _, sb := range sbs {
		out = append(out, d.sandboxStatus(sb))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}
