package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/peapod/peapod/internal/runtime"
)

// fakeRuntime is an in-memory Runtime. Containers run until the test
// calls exit; StopContainer exits them with 143.
type fakeRuntime struct {
	mu         sync.Mutex
	seq        int
	sandboxes  map[string]*runtime.SandboxStatus
	containers map[string]*runtime.ContainerStatus
	configs    map[string]*runtime.ContainerConfig
	images     map[string]string // ref -> ID
	pullable   map[string]bool
	createErr  map[string]error // container name -> error
	offline    bool             // pulls fail as if no registry were reachable
	calls      []string
}

var _ Runtime = (*fakeRuntime)(nil)

func newFakeRuntime() *fakeRuntime {
	return &fakeRuntime{
		sandboxes:  map[string]*runtime.SandboxStatus{},
		containers: map[string]*runtime.ContainerStatus{},
		configs:    map[string]*runtime.ContainerConfig{},
		images:     map[string]string{"busybox": "sha256:bb"},
		pullable:   map[string]bool{},
		createErr:  map[string]error{},
	}
}

func (f *fakeRuntime) record(s string) { f.calls = append(f.calls, s) }

func (f *fakeRuntime) callList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeRuntime) RunPodSandbox(_ context.Context, cfg *runtime.SandboxConfig) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	id := fmt.Sprintf("sb%d", f.seq)
	f.sandboxes[id] = &runtime.SandboxStatus{ID: id, Name: cfg.Name, Namespace: cfg.Namespace, UID: cfg.UID,
		Attempt: cfg.Attempt, State: runtime.SandboxReady, CreatedAt: time.Now(), IP: "10.1.0.2", IPs: []string{"10.1.0.2"}, Labels: cfg.Labels}
	f.record("run-sandbox " + cfg.Name)
	return id, nil
}

func (f *fakeRuntime) StopPodSandbox(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	sb, ok := f.sandboxes[id]
	if !ok {
		return runtime.ErrNotFound
	}
	sb.State = runtime.SandboxNotReady
	for _, c := range f.containers {
		if c.SandboxID == id && c.State == runtime.ContainerRunning {
			c.State, c.ExitCode, c.Reason, c.FinishedAt = runtime.ContainerExited, 137, "Error", time.Now()
		}
	}
	f.record("stop-sandbox " + id)
	return nil
}

func (f *fakeRuntime) RemovePodSandbox(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sandboxes, id)
	for cid, c := range f.containers {
		if c.SandboxID == id {
			delete(f.containers, cid)
		}
	}
	f.record("remove-sandbox " + id)
	return nil
}

func (f *fakeRuntime) ListPodSandboxes(context.Context) ([]*runtime.SandboxStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*runtime.SandboxStatus
	for _, s := range f.sandboxes {
		c := *s
		out = append(out, &c)
	}
	return out, nil
}

func (f *fakeRuntime) PodSandboxStatus(_ context.Context, id string) (*runtime.SandboxStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sb, ok := f.sandboxes[id]
	if !ok {
		return nil, fmt.Errorf("sandbox %s: %w", id, runtime.ErrNotFound)
	}
	c := *sb
	return &c, nil
}

func (f *fakeRuntime) CreateContainer(_ context.Context, sandboxID string, cfg *runtime.ContainerConfig) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.createErr[cfg.Spec.Name]; err != nil {
		return "", err
	}
	f.seq++
	id := fmt.Sprintf("c%d-%s", f.seq, cfg.Spec.Name)
	f.containers[id] = &runtime.ContainerStatus{ID: id, SandboxID: sandboxID, Name: cfg.Spec.Name, Attempt: cfg.Attempt,
		Image: cfg.Spec.Image, ImageRef: cfg.ImageRef, State: runtime.ContainerCreated, CreatedAt: time.Now(), Labels: cfg.Labels}
	f.configs[id] = cfg
	f.record(fmt.Sprintf("create %s#%d", cfg.Spec.Name, cfg.Attempt))
	return id, nil
}

func (f *fakeRuntime) StartContainer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.containers[id]
	c.State, c.StartedAt = runtime.ContainerRunning, time.Now()
	return nil
}

func (f *fakeRuntime) StopContainer(_ context.Context, id string, timeout time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return runtime.ErrNotFound
	}
	if c.State == runtime.ContainerRunning {
		c.State, c.ExitCode, c.Reason, c.FinishedAt = runtime.ContainerExited, 143, "Error", time.Now()
	}
	f.record(fmt.Sprintf("stop %s %s", c.Name, timeout))
	return nil
}

func (f *fakeRuntime) RemoveContainer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.containers, id)
	return nil
}

func (f *fakeRuntime) ListContainers(_ context.Context, filter runtime.ContainerFilter) ([]*runtime.ContainerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*runtime.ContainerStatus
	for _, c := range f.containers {
		match := true
		for k, v := range filter.Labels {
			if c.Labels[k] != v {
				match = false
			}
		}
		if match {
			cc := *c
			out = append(out, &cc)
		}
	}
	return out, nil
}

func (f *fakeRuntime) PullImage(_ context.Context, ref string, _ *runtime.AuthConfig) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("pull " + ref)
	if f.offline {
		return "", fmt.Errorf("pulling %s: dial tcp: lookup registry-1.docker.io: no such host", ref)
	}
	if f.pullable[ref] {
		f.images[ref] = "sha256:" + ref
		return f.images[ref], nil
	}
	return "", fmt.Errorf("%s: manifest unknown: %w", ref, runtime.ErrImageNotFound)
}

func (f *fakeRuntime) ImageStatus(_ context.Context, ref string) (*runtime.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, ok := f.images[ref]; ok {
		return &runtime.Image{ID: id}, nil
	}
	return nil, fmt.Errorf("%s: %w", ref, runtime.ErrImageNotFound)
}

// exit makes the running instance of the named container exit.
func (f *fakeRuntime) exit(name string, code int32) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.containers {
		if c.Name == name && c.State == runtime.ContainerRunning {
			c.State, c.ExitCode, c.FinishedAt = runtime.ContainerExited, code, time.Now()
			c.Reason = "Completed"
			if code != 0 {
				c.Reason = "Error"
			}
			return true
		}
	}
	return false
}

func (f *fakeRuntime) count() (sandboxes, containers int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sandboxes), len(f.containers)
}
