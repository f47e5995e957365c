package runc

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peapod/peapod/internal/network"
	"github.com/peapod/peapod/internal/runtime"
)

// sandboxMeta is a sandbox's persisted state (sandboxes/<id>/meta.json).
type sandboxMeta struct {
	ID        string                 `json:"id"`
	Config    *runtime.SandboxConfig `json:"config"`
	CreatedAt time.Time              `json:"createdAt"`
	// Ready is set once everything is up; a sandbox found without it after
	// a restart was interrupted while starting and is NotReady.
	Ready     bool                  `json:"ready"`
	Stopped   bool                  `json:"stopped"`
	NetNS     string                `json:"netns,omitempty"`
	NetworkUp bool                  `json:"networkUp,omitempty"`
	Ports     []network.PortMapping `json:"ports,omitempty"`
	IPs       []string              `json:"ips,omitempty"`
	Shm       string                `json:"shm,omitempty"`
	// CgroupParent is the pod's cgroup (removed with the sandbox; empty
	// for a warm sandbox not yet claimed); InfraCgroup the infra
	// container's (under CgroupParent, or the warm pool's parent).
	CgroupParent string `json:"cgroupParent"`
	InfraCgroup  string `json:"infraCgroup"`
	// Pooled marks a warm sandbox waiting in the pool (invisible to callers).
	Pooled     bool   `json:"pooled,omitempty"`
	Hostname   string `json:"hostname"`
	InfraPID   int    `json:"infraPid,omitempty"`
	InfraStart uint64 `json:"infraStart,omitempty"`
}

// containerMeta is a container's persisted state (containers/<id>/meta.json).
type containerMeta struct {
	ID          string            `json:"id"`
	SandboxID   string            `json:"sandboxId"`
	Name        string            `json:"name"`
	Attempt     uint32            `json:"attempt"`
	Image       string            `json:"image"`
	ImageRef    string            `json:"imageRef"`
	CreatedAt   time.Time         `json:"createdAt"`
	StartedAt   time.Time         `json:"startedAt,omitempty"`
	Started     bool              `json:"started,omitempty"`
	PID         int               `json:"pid,omitempty"`
	PIDStart    uint64            `json:"pidStart,omitempty"`
	StopSignal  int               `json:"stopSignal"`
	LogPath     string            `json:"logPath"`
	CgroupsPath string            `json:"cgroupsPath"`
	TermPolicy  string            `json:"terminationMessagePolicy,omitempty"`
	SharedPID   bool              `json:"sharedPid,omitempty"`
	TTY         bool              `json:"tty,omitempty"`
	Stdin       bool              `json:"stdin,omitempty"`
	StartError  string            `json:"startError,omitempty"`
	FinishedAt  time.Time         `json:"finishedAt,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// sandbox is the in-memory handle of a sandbox. op serializes lifecycle
// operations; m holds the current metadata, replaced (never mutated) by
// the holder of op, so status reads never wait for a slow stop.
type sandbox struct {
	dir string
	op  sync.Mutex
	// life is held shared by CreateContainer and exclusively while the
	// sandbox stops or goes, so no container is created into a sandbox
	// being torn down.
	life sync.RWMutex
	m    atomic.Pointer[sandboxMeta]
}

func (s *sandbox) meta() sandboxMeta { return *s.m.Load() }

// update applies fn to a copy of the metadata, persists and publishes it.
// The caller holds op.
func (s *sandbox) update(fn func(*sandboxMeta)) error {
	m := s.meta()
	fn(&m)
	if err := writeJSON(filepath.Join(s.dir, "meta.json"), &m); err != nil {
		return err
	}
	s.m.Store(&m)
	return nil
}

type container struct {
	dir string
	op  sync.Mutex
	m   atomic.Pointer[containerMeta]
}

func (c *container) meta() containerMeta { return *c.m.Load() }

func (c *container) update(fn func(*containerMeta)) error {
	m := c.meta()
	fn(&m)
	if err := writeJSON(filepath.Join(c.dir, "meta.json"), &m); err != nil {
		return err
	}
	c.m.Store(&m)
	return nil
}

// writeJSON writes v to path atomically (temp file + rename).
func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// adopt loads the sandboxes and containers a previous driver left.
// Nothing is started or stopped: statuses come from the files and
// processes as they are.
func (d *Driver) adopt() error {
	sbs, err := os.ReadDir(d.dirs.sandboxes)
	if err != nil {
		return err
	}
	for _, e := range sbs {
		dir := filepath.Join(d.dirs.sandboxes, e.Name())
		var m sandboxMeta
		if err := readJSON(filepath.Join(dir, "meta.json"), &m); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				// Interrupted before the first write: nothing was set up.
				os.RemoveAll(dir)
				continue
			}
			d.cfg.Logf("runtime: adopting sandbox %s: %v", e.Name(), err)
			continue
		}
		if m.InfraCgroup == "" {
			m.InfraCgroup = m.CgroupParent + "/" + m.ID
		}
		sb := &sandbox{dir: dir}
		sb.m.Store(&m)
		d.sandboxes[m.ID] = sb
		if m.Pooled {
			if m.Ready && alive(m.InfraPID, m.InfraStart) {
				d.pool = append(d.pool, m.ID)
			} else {
				d.stale = append(d.stale, m.ID)
			}
		}
	}
	cs, err := os.ReadDir(d.dirs.containers)
	if err != nil {
		return err
	}
	for _, e := range cs {
		dir := filepath.Join(d.dirs.containers, e.Name())
		var m containerMeta
		if err := readJSON(filepath.Join(dir, "meta.json"), &m); err != nil {
			d.cfg.Logf("runtime: adopting container %s: %v", e.Name(), err)
			if errors.Is(err, os.ErrNotExist) {
				// Interrupted inside CreateContainer before the record was
				// written: only the rootfs may exist (removed below).
				os.RemoveAll(dir)
			}
			continue
		}
		if _, ok := d.sandboxes[m.SandboxID]; !ok {
			d.cfg.Logf("runtime: container %s belongs to unknown sandbox %s", m.ID, m.SandboxID)
		}
		c := &container{dir: dir}
		c.m.Store(&m)
		d.containers[m.ID] = c
	}
	// What stays on disk of objects without a record: all of it after a
	// reboot (the records were on tmpfs), or an interrupted create.
	disk, err := os.ReadDir(d.dirs.disk)
	if err != nil {
		return err
	}
	for _, e := range disk {
		_, sb := d.sandboxes[e.Name()]
		_, c := d.containers[e.Name()]
		if sb || c {
			continue
		}
		dir := filepath.Join(d.dirs.disk, e.Name())
		if err := d.cfg.Images.UnmountRootfs(dir); err != nil {
			d.cfg.Logf("runtime: removing leftover %s: %v", dir, err)
			continue
		}
		os.RemoveAll(dir)
	}
	return nil
}

func (d *Driver) String() string { return fmt.Sprintf("runc driver at %s", d.dirs.root) }
