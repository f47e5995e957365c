// Package volume prepares a pod's volumes on the host before its
// containers start and removes them when the pod goes. One file per volume
// kind; each kind is a Plugin, listed in order by DefaultPlugins.
//
// Layout: <pod dir>/volumes/<plugin dir>/<volume name>, with the kubelet's
// plugin directory names (kubernetes.io~empty-dir, ...). Volumes that live
// elsewhere (hostPath) have no directory there.
package volume

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	v1 "k8s.io/api/core/v1"
)

// ErrUnsupported is returned for volume kinds no plugin handles yet.
var ErrUnsupported = errors.New("unsupported volume type")

// Plugin sets up one kind of volume.
type Plugin interface {
	// Dir is the plugin's directory under <pod dir>/volumes ("" when its
	// volumes live elsewhere).
	Dir() string
	// Handles reports whether v is this plugin's kind.
	Handles(v *v1.Volume) bool
	// SetUp makes the volume ready and returns its host path. It must be
	// idempotent: it runs on every sync and again after an agent restart.
	SetUp(ctx context.Context, req SetUpRequest) (hostPath string, err error)
	// TearDown removes what SetUp made under dir (idempotent). It works
	// from the directory alone, so pods can be cleaned up after a restart.
	TearDown(ctx context.Context, dir string) error
}

// SetUpRequest is one volume of one pod.
type SetUpRequest struct {
	Pod    *v1.Pod
	Volume *v1.Volume
	// Dir is <pod dir>/volumes/<plugin dir>/<volume name> (empty if the
	// plugin has no Dir).
	Dir string
	// Objects gives Secrets, ConfigMaps and tokens (nil: no API server).
	Objects ObjectSource
	// Now names the atomic writer's directories (zero: the clock).
	Now time.Time
	// Ownership is the pod's fsGroup and single runAsUser (OwnershipOf).
	Ownership Ownership
	// Allocatable is what unset limits read as in the downward API (nil:
	// NodeAllocatable).
	Allocatable v1.ResourceList
}

func (r SetUpRequest) objects() ObjectSource {
	if r.Objects == nil {
		return NoAPIServer{}
	}
	return r.Objects
}

func (r SetUpRequest) now() time.Time {
	if r.Now.IsZero() {
		return time.Now()
	}
	return r.Now
}

// Updater is implemented by plugins whose content follows the API
// (secret, configMap, downwardAPI, projected): Refresh re-runs their SetUp.
type Updater interface {
	Updates()
}

// DefaultPlugins is the ordered list of volume kinds the agent knows.
func DefaultPlugins() []Plugin {
	return []Plugin{
		&MemoryEmptyDir{},
		&EmptyDir{},
		&HostPath{},
		&Secret{},
		&ConfigMap{},
		&DownwardAPI{},
		&Projected{},
	}
}

// Manager sets up and tears down a pod's volumes with its plugins.
type Manager struct {
	plugins     []Plugin
	allocatable v1.ResourceList
}

// NewManager returns a manager over plugins, tried in order.
func NewManager(plugins ...Plugin) *Manager {
	return &Manager{plugins: plugins}
}

// WithAllocatable sets the node's allocatable resources, which the
// downward API gives for unset limits (the node's own figures, as the
// kubelet reads them from its Node), and returns m.
func (m *Manager) WithAllocatable(a v1.ResourceList) *Manager {
	m.allocatable = a
	return m
}

// SetUp prepares every volume of pod under podDir and returns the host
// path of each by volume name. All volumes are tried; the errors are
// joined, each a *SetUpError.
func (m *Manager) SetUp(ctx context.Context, pod *v1.Pod, podDir string, objs ObjectSource) (map[string]string, error) {
	return m.setUp(ctx, pod, podDir, objs, false)
}

// Refresh re-runs SetUp for the volumes whose content follows the API
// (Updater plugins), so that changed Secrets, ConfigMaps, labels,
// annotations and expiring tokens reach the files.
func (m *Manager) Refresh(ctx context.Context, pod *v1.Pod, podDir string, objs ObjectSource) error {
	_, err := m.setUp(ctx, pod, podDir, objs, true)
	return err
}

// SetUpError is one volume that could not be set up; its message is the
// kubelet's FailedMount text.
type SetUpError struct {
	Volume string
	Err    error
}

func (e *SetUpError) Error() string {
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", e.Volume, e.Err)
}

func (e *SetUpError) Unwrap() error { return e.Err }

func (m *Manager) setUp(ctx context.Context, pod *v1.Pod, podDir string, objs ObjectSource, updatersOnly bool) (map[string]string, error) {
	paths := make(map[string]string, len(pod.Spec.Volumes))
	own := OwnershipOf(pod)
	var errs []error
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		p := m.pluginFor(v)
		if p == nil {
			errs = append(errs, &SetUpError{v.Name, ErrUnsupported})
			continue
		}
		if _, ok := p.(Updater); updatersOnly && !ok {
			continue
		}
		req := SetUpRequest{Pod: pod, Volume: v, Objects: objs, Ownership: own, Allocatable: m.allocatable}
		if d := p.Dir(); d != "" {
			req.Dir = filepath.Join(podDir, "volumes", d, v.Name)
		}
		hp, err := p.SetUp(ctx, req)
		if err != nil {
			errs = append(errs, &SetUpError{v.Name, err})
			continue
		}
		paths[v.Name] = hp
	}
	return paths, errors.Join(errs...)
}

// TearDown removes every volume under podDir/volumes, then that directory.
func (m *Manager) TearDown(ctx context.Context, podDir string) error {
	root := filepath.Join(podDir, "volumes")
	kinds, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("volumes of %s: %w", podDir, err)
	}
	var errs []error
	for _, k := range kinds {
		var p Plugin
		for _, c := range m.plugins {
			if c.Dir() == k.Name() {
				p = c
				break
			}
		}
		vols, err := os.ReadDir(filepath.Join(root, k.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, v := range vols {
			dir := filepath.Join(root, k.Name(), v.Name())
			if p != nil {
				err = p.TearDown(ctx, dir)
			} else {
				err = removeDir(dir)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("volume %s: %w", dir, err))
			}
		}
		if err := os.Remove(filepath.Join(root, k.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		if err := os.Remove(root); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) pluginFor(v *v1.Volume) Plugin {
	for _, p := range m.plugins {
		if p.Handles(v) {
			return p
		}
	}
	return nil
}

// removeDir unmounts dir if something is mounted there, then removes it.
// It refuses to remove a directory that is still a mount point.
func removeDir(dir string) error {
	mounted, err := isMountPoint(dir)
	if err != nil {
		return err
	}
	if mounted {
		if err := unmount(dir); err != nil {
			return err
		}
		if still, _ := isMountPoint(dir); still {
			return fmt.Errorf("%s is still mounted", dir)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	return nil
}
