package prober

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/peapod/peapod/internal/agent/plan"
)

// Recorder receives the Unhealthy events (agent.Recorder satisfies it).
type Recorder interface {
	Event(pod *v1.Pod, fieldPath, eventType, reason, message string)
}

// Config wires a Manager. Exec and Results are required.
type Config struct {
	Exec    Execer
	Results *Results
	Events  Recorder
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Jitter delays the first probe of a container that was already
	// running when the manager started (an agent restart found it).
	// Default: the kubelet's restart jitter (StartJitter), a random
	// fraction of the period within one period of the manager's start, so
	// the probes of the pods a restart finds do not all fire at once.
	Jitter func(period time.Duration) time.Duration
}

// Container is one observed container of a pod.
type Container struct {
	ID        string
	Name      string
	Running   bool
	StartedAt time.Time
}

type workerKey struct {
	uid  types.UID
	id   string
	kind Kind
}

// Manager keeps one worker per running container and declared probe.
// Its map is guarded by mu: the pod workers call Sync concurrently.
type Manager struct {
	cfg   Config
	start time.Time // when NewManager ran

	mu      sync.Mutex
	workers map[workerKey]*worker
	wg      sync.WaitGroup
}

// NewManager returns a manager with no workers.
func NewManager(cfg Config) *Manager {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	start := cfg.Now()
	if cfg.Jitter == nil {
		now := cfg.Now
		cfg.Jitter = func(period time.Duration) time.Duration {
			return StartJitter(period, now().Sub(start), rand.Float64())
		}
	}
	return &Manager{cfg: cfg, start: start, workers: map[workerKey]*worker{}}
}

// StartJitter is how long a worker waits before its first probe
// (kubelet prober/worker.go): r (in [0,1)) of the period if the manager
// started less than one period ago, else nothing. (The kubelet applies it
// to every worker of its first period; the agent only to containers that
// were already running, which is what it is for: new containers start
// one by one anyway.)
func StartJitter(period, sinceStart time.Duration, r float64) time.Duration {
	if sinceStart >= period {
		return 0
	}
	return time.Duration(r * float64(period))
}

// Results is the store the workers publish to.
func (m *Manager) Results() *Results { return m.cfg.Results }

// Sync starts workers for the running containers of pod that declare
// probes, hands the existing ones the latest pod and target, and stops
// the workers (and forgets the results) of containers no longer running.
func (m *Manager) Sync(ctx context.Context, pod *v1.Pod, cs []Container, t Target) {
	m.mu.Lock()
	defer m.mu.Unlock()
	live := map[workerKey]bool{}
	for _, c := range cs {
		if !c.Running {
			continue
		}
		spec := containerSpec(pod, c.Name)
		if spec == nil {
			continue
		}
		for kind, p := range map[Kind]*v1.Probe{Liveness: spec.LivenessProbe, Readiness: spec.ReadinessProbe, Startup: spec.StartupProbe} {
			if p == nil {
				continue
			}
			k := workerKey{pod.UID, c.ID, kind}
			live[k] = true
			if w, ok := m.workers[k]; ok {
				w.set(pod, c, t)
				continue
			}
			w := &worker{m: m, key: k, stop: make(chan struct{}), trigger: make(chan struct{}, 1)}
			w.set(pod, c, t)
			m.workers[k] = w
			m.wg.Add(1)
			go func() {
				defer m.wg.Done()
				w.run(ctx)
			}()
		}
	}
	for k, w := range m.workers {
		if k.uid == pod.UID && !live[k] {
			m.remove(k, w)
		}
	}
}

// RemovePod stops every worker of the pod.
func (m *Manager) RemovePod(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, w := range m.workers {
		if k.uid == uid {
			m.remove(k, w)
		}
	}
}

func (m *Manager) remove(k workerKey, w *worker) {
	close(w.stop)
	delete(m.workers, k)
	m.cfg.Results.Remove(k.kind, k.id)
}

// triggerReadiness runs the readiness probe of container id at once
// rather than at its next tick: its startup probe has just succeeded, and
// readiness waited for it. The kubelet sends this trigger from
// UpdatePodStatus (prober_manager.go) for every started container without
// a Success readiness result, which a startup success is followed by; the
// agent sends it only then.
func (m *Manager) triggerReadiness(uid types.UID, id string) {
	m.mu.Lock()
	w := m.workers[workerKey{uid, id, Readiness}]
	m.mu.Unlock()
	if w == nil {
		return
	}
	select {
	case w.trigger <- struct{}{}:
	default: // one is pending already
	}
}

// Wait waits for the workers to end (after their context).
func (m *Manager) Wait() { m.wg.Wait() }

// Observed returns the pod's results as the planner reads them (by
// container ID): readiness and startup results that passed, and false
// for failed liveness and startup probes.
func (m *Manager) Observed(ids []string) (readiness, startup, liveness, startupFailed map[string]bool) {
	readiness, startup, liveness, startupFailed = map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, id := range ids {
		if r, ok := m.cfg.Results.Get(Readiness, id); ok {
			readiness[id] = r == Success
		}
		if r, ok := m.cfg.Results.Get(Startup, id); ok {
			startup[id] = r == Success
			if r == Failure {
				startupFailed[id] = false
			}
		}
		if r, ok := m.cfg.Results.Get(Liveness, id); ok && r == Failure {
			liveness[id] = false
		}
	}
	return
}

// containerSpec is pod's container name that may be probed: an app
// container or a sidecar (nil for a regular init container, which is never
// probed, as in the kubelet).
func containerSpec(pod *v1.Pod, name string) *v1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	if !plan.IsSidecar(pod, name) {
		return nil
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	return nil
}
