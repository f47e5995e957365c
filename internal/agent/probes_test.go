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

// execRuntime is a fakeRuntime that can exec: a command's first word is
// looked up in answers (exit code), default 0; -1 hangs until the exec's
// context ends.
type execRuntime struct {
	*fakeRuntime
	mu      sync.Mutex
	answers map[string]int
}

func (r *execRuntime) set(cmd string, code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers[cmd] = code
}

func (r *execRuntime) ExecSync(ctx context.Context, id string, cmd []string, _ time.Duration) (*runtime.ExecResult, error) {
	r.fakeRuntime.mu.Lock()
	_, ok := r.fakeRuntime.containers[id]
	r.fakeRuntime.mu.Unlock()
	if !ok {
		return nil, runtime.ErrNotFound
	}
	r.fakeRuntime.mu.Lock()
	r.fakeRuntime.record("exec " + cmd[0])
	r.fakeRuntime.mu.Unlock()
	r.mu.Lock()
	code := r.answers[cmd[0]]
	r.mu.Unlock()
	if code == -1 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	res := &runtime.ExecResult{ExitCode: code}
	if code != 0 {
		res.Stdout = []byte(cmd[0] + " says no")
	}
	return res, nil
}

func newExecHarness(t *testing.T) (*harness, *execRuntime) {
	rt := &execRuntime{fakeRuntime: newFakeRuntime(), answers: map[string]int{}}
	return startHarness(t, rt, rt.fakeRuntime), rt
}

func TestProbesDriveReadinessAndRestarts(t *testing.T) {
	h, rt := newExecHarness(t)
	rt.set("ready", 1)
	h.send(staticPod(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"terminationGracePeriodSeconds":30,
	"containers":[{"name":"c","image":"busybox","imagePullPolicy":"IfNotPresent",
	  "readinessProbe":{"exec":{"command":["ready"]},"periodSeconds":1,"failureThreshold":1},
	  "livenessProbe":{"exec":{"command":["live"]},"periodSeconds":1,"failureThreshold":1,"terminationGracePeriodSeconds":4}}]}}`))
	notReady := func(p *v1.Pod) bool { return running("c")(p) && !p.Status.ContainerStatuses[0].Ready }
	h.waitFor("p-n1", "running, not ready", notReady)
	// Not ready is also the state before the first probe: wait for the
	// failure itself.
	h.waitEvent("Readiness probe failed: ready says no")
	rt.set("ready", 0)
	h.waitFor("p-n1", "ready", func(p *v1.Pod) bool {
		return running("c")(p) && p.Status.ContainerStatuses[0].Ready && podConditionTrue(p, v1.PodReady) && podConditionTrue(p, v1.ContainersReady)
	})
	rt.set("live", 1)
	h.waitFor("p-n1", "restarted", func(p *v1.Pod) bool { return p.Status.ContainerStatuses[0].RestartCount >= 1 })
	rt.set("live", 0)
	h.send()
	h.waitGone("p-n1")
	got := strings.Join(h.events.list(), "\n")
	for _, want := range []string{
		"Warning Unhealthy spec.containers{c}: Readiness probe failed: ready says no",
		"Warning Unhealthy spec.containers{c}: Liveness probe failed: live says no",
		"Normal Killing spec.containers{c}: Container c failed liveness probe, will be restarted",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing event %q in:\n%s", want, got)
		}
	}
	// The probe's terminationGracePeriodSeconds (4 s) replaced the pod's 30 s.
	if calls := strings.Join(rt.callList(), "\n"); !strings.Contains(calls, "stop c 4s") {
		t.Errorf("liveness kill without the probe's grace:\n%s", calls)
	}
}

// startFailingPostStart runs a pod whose postStart hook ("hook") exits 2
// and whose preStop is "bye", and waits for PostStartHookError, then (the
// killed instance is a failed one) the crash-loop back-off.
func startFailingPostStart(t *testing.T) (*harness, *execRuntime) {
	t.Helper()
	h, rt := newExecHarness(t)
	rt.set("hook", 2)
	h.send(staticPod(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"terminationGracePeriodSeconds":1,
	"containers":[{"name":"c","image":"busybox","imagePullPolicy":"IfNotPresent",
	  "lifecycle":{"postStart":{"exec":{"command":["hook"]}},"preStop":{"exec":{"command":["bye"]}}}}]}}`))
	h.waitFor("p-n1", "PostStartHookError or CrashLoopBackOff", func(p *v1.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].State.Waiting != nil &&
			(cs[0].State.Waiting.Reason == "PostStartHookError" || cs[0].State.Waiting.Reason == "CrashLoopBackOff")
	})
	return h, rt
}

func TestPostStartFailureKillsAndRestarts(t *testing.T) {
	h, rt := startFailingPostStart(t)
	rt.set("hook", 0)
	rt.set("bye", 1)
	h.send()
	h.waitGone("p-n1")
	got := strings.Join(h.events.list(), "\n")
	for _, want := range []string{
		"Warning FailedPostStartHook spec.containers{c}: PostStartHook failed",
		"Normal Killing spec.containers{c}: FailedPostStartHook",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing event %q in:\n%s", want, got)
		}
	}
	// A started instance that later stops runs preStop; its failure is
	// reported and the stop goes ahead (the 2 s floor applies).
	if strings.Contains(got, "FailedPreStopHook") && !strings.Contains(got, "Warning FailedPreStopHook spec.containers{c}: PreStopHook failed") {
		t.Errorf("preStop failure event:\n%s", got)
	}
}

// TestPostStartFailureRunsPreStop: the kubelet kills a container whose
// postStart failed through killContainer, so its preStop hook runs before
// the stop signal (grace floored at 2 s).
func TestPostStartFailureRunsPreStop(t *testing.T) {
	h, rt := startFailingPostStart(t)
	calls := rt.callList()
	idx := func(want string) int {
		for i, c := range calls {
			if c == want {
				return i
			}
		}
		return -1
	}
	hook, bye, stop := idx("exec hook"), idx("exec bye"), idx("stop c 2s")
	if hook < 0 || bye < hook || stop < bye {
		t.Fatalf("want exec hook, then exec bye (preStop), then stop c 2s; calls:\n%s", strings.Join(calls, "\n"))
	}
	rt.set("hook", 0)
	h.send()
	h.waitGone("p-n1")
}

func podConditionTrue(p *v1.Pod, t v1.PodConditionType) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}
