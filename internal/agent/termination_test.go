package agent

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// slowStopRuntime stops a container only when its grace is over (a
// process that ignores SIGTERM), or not at all when the stop's context
// ends first; "stopping <name> <grace>" is recorded as a stop begins.
type slowStopRuntime struct{ *execRuntime }

func (r slowStopRuntime) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	r.fakeRuntime.mu.Lock()
	if c, ok := r.fakeRuntime.containers[id]; ok {
		r.fakeRuntime.record(fmt.Sprintf("stopping %s %s", c.Name, timeout))
	}
	r.fakeRuntime.mu.Unlock()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(timeout):
	}
	return r.fakeRuntime.StopContainer(ctx, id, timeout)
}

func newSlowStopHarness(t *testing.T) (*harness, *execRuntime) {
	rt := &execRuntime{fakeRuntime: newFakeRuntime(), answers: map[string]int{}}
	return startHarness(t, slowStopRuntime{rt}, rt.fakeRuntime), rt
}

func (h *harness) waitCall(want string) {
	h.t.Helper()
	if !waitUntil(5*time.Second, func() bool { return strings.Contains(strings.Join(h.rt.callList(), "\n"), want) }) {
		h.t.Fatalf("no call %q in:\n%s", want, strings.Join(h.rt.callList(), "\n"))
	}
}

func graced(p *v1.Pod, seconds int64) *v1.Pod {
	p.Spec.TerminationGracePeriodSeconds = &seconds
	return p
}

// TestDeletionInterruptsPostStart: a pod deleted while its postStart hook
// hangs is killed and finished; the hook is cut short, not reported as a
// failure (the kubelet's pod worker cancels the sync in progress).
func TestDeletionInterruptsPostStart(t *testing.T) {
	h, rt := newExecHarness(t)
	rt.set("hang", -1)
	pod := graced(apiPod("p", "", 1), 30)
	pod.Spec.Containers[0].Lifecycle = &v1.Lifecycle{PostStart: &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"hang"}}}}
	h.send(pod)
	h.waitCall("exec hang")
	h.send(deletedPod(pod, 30))
	h.waitGone("p")
	if got := strings.Join(h.events.list(), "\n"); strings.Contains(got, "FailedPostStartHook") {
		t.Errorf("an interrupted postStart reported as failed:\n%s", got)
	}
}

// TestShorterGraceInterruptsStop: a second deletion with less grace cuts
// short the stop in progress, which starts again with the new grace (at
// least 2 s).
func TestShorterGraceInterruptsStop(t *testing.T) {
	h, _ := newSlowStopHarness(t)
	pod := graced(apiPod("p", "", 1), 30)
	h.send(pod)
	h.waitFor("p", "running", running("c"))
	h.send(deletedPod(pod, 30))
	h.waitCall("stopping c 30s")
	start := time.Now()
	h.send(deletedPod(pod, 1))
	h.waitGone("p")
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("gone %v after the shorter grace: the 2 s minimum was not kept", d)
	}
	calls := strings.Join(h.rt.callList(), "\n")
	if !strings.Contains(calls, "stop c 2s") || strings.Contains(calls, "stop c 30s") {
		t.Errorf("the stop did not start again with the shorter grace:\n%s", calls)
	}
}

// TestProbesWhileTerminating: while a deleted pod's containers stop (here
// the whole grace), readiness is still probed and a failure is published
// at once (not ready while Terminating); liveness is no longer probed.
func TestProbesWhileTerminating(t *testing.T) {
	h, rt := newSlowStopHarness(t)
	pod := graced(apiPod("p", "", 1), 30)
	probe := func(cmd string) *v1.Probe {
		return &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{cmd}}},
			PeriodSeconds: 1, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 1}
	}
	pod.Spec.Containers[0].ReadinessProbe = probe("ready")
	pod.Spec.Containers[0].LivenessProbe = probe("live")
	h.send(pod)
	h.waitFor("p", "ready", func(p *v1.Pod) bool { return running("c")(p) && p.Status.ContainerStatuses[0].Ready })
	h.send(deletedPod(pod, 30))
	h.waitCall("stopping c 30s")
	rt.set("ready", 1)
	rt.set("live", 1)
	h.waitFor("p", "not ready while terminating", func(p *v1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && !p.Status.ContainerStatuses[0].Ready && !podConditionTrue(p, v1.PodReady)
	})
	// Two liveness periods more: no liveness probe ran.
	time.Sleep(2 * time.Second)
	if got := strings.Join(h.events.list(), "\n"); strings.Contains(got, "Liveness probe failed") {
		t.Errorf("liveness probed while terminating:\n%s", got)
	}
	h.send(deletedPod(pod, 1))
	h.waitGone("p")
}
