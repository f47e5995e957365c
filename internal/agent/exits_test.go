package agent

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/runtime"
)

// exitsRuntime is a fakeRuntime that reports exits (ExitWatcher) when
// the test sends them, and counts the lists of one pod's containers (one
// per worker pass; housekeeping lists them all).
type exitsRuntime struct {
	*fakeRuntime
	exits chan runtime.Exit
	mu    sync.Mutex
	lists int
}

func (r *exitsRuntime) WatchExits(ctx context.Context) (<-chan runtime.Exit, error) {
	out := make(chan runtime.Exit)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-r.exits:
				out <- e
			}
		}
	}()
	return out, nil
}

func (r *exitsRuntime) ListContainers(ctx context.Context, f runtime.ContainerFilter) ([]*runtime.ContainerStatus, error) {
	if f.Labels[runtime.LabelPodUID] != "" {
		r.mu.Lock()
		r.lists++
		r.mu.Unlock()
	}
	return r.fakeRuntime.ListContainers(ctx, f)
}

func (r *exitsRuntime) passes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lists
}

const exitsPodJSON = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{
	"containers":[{"name":"c","image":"busybox","imagePullPolicy":"IfNotPresent"}]}}`

func runningOnce(p *v1.Pod) bool {
	cs := p.Status.ContainerStatuses
	return p.Status.Phase == v1.PodRunning && len(cs) == 1 && cs[0].State.Running != nil
}

// A settled pod is not resynced every Resync when the runtime reports
// exits; the exit of its container wakes its worker at once.
func TestSettledPodWaitsForExits(t *testing.T) {
	rt := &exitsRuntime{fakeRuntime: newFakeRuntime(), exits: make(chan runtime.Exit)}
	h := startHarnessWith(t, rt, rt.fakeRuntime, func(c *Config) { c.IdleResync = time.Hour })
	pod := staticPod(t, exitsPodJSON)
	h.send(pod)
	h.waitFor("p-n1", "running", runningOnce)
	// The passes right after the start: wait until they stop (50 ms, 5
	// Resyncs, without one).
	before := rt.passes()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		n := rt.passes()
		if n == before {
			break
		}
		before = n
	}
	time.Sleep(300 * time.Millisecond) // 30 Resyncs
	if n := rt.passes() - before; n > 1 {
		t.Errorf("settled pod: %d passes in 30 Resyncs, want none", n)
	}
	if !rt.exit("c", 1) {
		t.Fatal("no running container c")
	}
	time.Sleep(100 * time.Millisecond)
	if p := h.waitFor("p-n1", "status", func(*v1.Pod) bool { return true }); p.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Fatalf("restarted without an exit event (restarts %d)", p.Status.ContainerStatuses[0].RestartCount)
	}
	rt.exits <- runtime.Exit{ID: "whatever", PodUID: string(pod.UID)}
	h.waitFor("p-n1", "restarted after the exit event", func(p *v1.Pod) bool {
		return runningOnce(p) && p.Status.ContainerStatuses[0].RestartCount == 1
	})
	// Lost events (an Exit without ID) wake every worker.
	time.Sleep(50 * time.Millisecond)
	rt.exit("c", 0)
	rt.exits <- runtime.Exit{}
	h.waitFor("p-n1", "in back-off after lost events", func(p *v1.Pod) bool {
		w := p.Status.ContainerStatuses[0].State.Waiting
		return w != nil && w.Reason == "CrashLoopBackOff"
	})
}

// Without exit events every pod is resynced every Resync; so is a pod
// that is not settled even with them.
func TestUnsettledPodsResync(t *testing.T) {
	rt := newFakeRuntime()
	h := newHarness(t, rt)
	h.send(staticPod(t, exitsPodJSON))
	h.waitFor("p-n1", "running", runningOnce)
	rt.exit("c", 1)
	h.waitFor("p-n1", "restarted by a resync", func(p *v1.Pod) bool {
		return runningOnce(p) && p.Status.ContainerStatuses[0].RestartCount == 1
	})

	ert := &exitsRuntime{fakeRuntime: newFakeRuntime(), exits: make(chan runtime.Exit)}
	h2 := startHarnessWith(t, ert, ert.fakeRuntime, func(c *Config) { c.IdleResync = time.Hour })
	// restartPolicy Never: an exited container stays, the pod is Running
	// (another container runs) but not settled.
	h2.send(staticPod(t, strings.Replace(exitsPodJSON, `"containers":[`,
		`"restartPolicy":"Never","containers":[{"name":"d","image":"busybox","imagePullPolicy":"IfNotPresent"},`, 1)))
	h2.waitFor("p-n1", "both running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning && len(p.Status.ContainerStatuses) == 2 })
	time.Sleep(50 * time.Millisecond)
	ert.exit("d", 0)
	ert.exits <- runtime.Exit{ID: "d", PodUID: string(h2.status.Pods()[0].UID)}
	h2.waitFor("p-n1", "d terminated", func(p *v1.Pod) bool {
		for _, c := range p.Status.ContainerStatuses {
			if c.Name == "d" && c.State.Terminated != nil {
				return true
			}
		}
		return false
	})
	before := ert.passes()
	time.Sleep(200 * time.Millisecond)
	if n := ert.passes() - before; n < 5 {
		t.Errorf("unsettled pod: %d passes in 20 Resyncs, want about 20", n)
	}
}
