package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
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

// startSlowDeletion runs pod p (grace 30 s) on a slowStopRuntime, deletes
// it, and returns once its container's stop has begun.
func startSlowDeletion(t *testing.T) (*harness, *v1.Pod) {
	h, _ := newSlowStopHarness(t)
	pod := graced(apiPod("p", "", 1), 30)
	h.send(pod)
	h.waitFor("p", "running", running("c"))
	h.send(deletedPod(pod, 30))
	h.waitCall("stopping c 30s")
	return h, pod
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
	h, pod := startSlowDeletion(t)
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

// TestDeletionStopsFurtherStarts: a deletion that cuts a container's
// postStart short starts none of the pod's other containers.
func TestDeletionStopsFurtherStarts(t *testing.T) {
	h, rt := newExecHarness(t)
	rt.set("hang", -1)
	pod := graced(apiPod("p", "", 1), 30)
	pod.Spec.Containers = append(pod.Spec.Containers, v1.Container{Name: "d", Image: "busybox", ImagePullPolicy: v1.PullNever})
	pod.Spec.Containers[0].Lifecycle = &v1.Lifecycle{PostStart: &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"hang"}}}}
	h.send(pod)
	h.waitCall("exec hang")
	before := len(h.rt.callList())
	h.send(deletedPod(pod, 30))
	h.waitGone("p")
	for _, c := range h.rt.callList()[before:] {
		if strings.HasPrefix(c, "create d") {
			t.Fatalf("container d created after the deletion: %v", h.rt.callList()[before:])
		}
	}
}

// TestShorterGraceDuringPreStop: a shorter grace that cuts a preStop hook
// short sends no stop signal then; the next pass runs preStop again and
// only then stops (the kubelet's re-kill), and a kill after a failed
// postStart is cut short the same way.
func TestShorterGraceDuringPreStop(t *testing.T) {
	for _, failedPostStart := range []bool{false, true} {
		t.Run(fmt.Sprint("after a failed postStart: ", failedPostStart), func(t *testing.T) {
			h, rt := newSlowStopHarness(t)
			rt.set("hang", -1)
			rt.set("fail", 1)
			pod := graced(apiPod("p", "", 1), 30)
			pod.Spec.Containers[0].Lifecycle = &v1.Lifecycle{PreStop: &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"hang"}}}}
			if failedPostStart {
				// Started, its postStart fails, its kill's preStop hangs.
				pod.Spec.Containers[0].Lifecycle.PostStart = &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"fail"}}}
				h.send(pod)
			} else {
				h.send(pod)
				h.waitFor("p", "running", running("c"))
				h.send(deletedPod(pod, 30))
			}
			h.waitCall("exec hang")
			h.send(deletedPod(pod, 1))
			h.waitGone("p")
			calls := strings.Join(h.rt.callList(), "\n")
			if first, second := strings.Index(calls, "exec hang"), strings.LastIndex(calls, "exec hang"); first == second ||
				strings.Index(calls, "stopping c") < second || strings.Contains(calls, "stopping c 30s") {
				t.Errorf("want preStop, preStop again, then a stop with the short grace:\n%s", calls)
			}
		})
	}
}

// TestAgentStopDuringGrace: an agent stopped while a deleted pod's
// container waits out its grace leaves the pod as it is (no SIGKILL, no
// sandbox stop): the restarted agent goes on with the deletion.
func TestAgentStopDuringGrace(t *testing.T) {
	h, _ := startSlowDeletion(t)
	h.stop()
	if calls := strings.Join(h.rt.callList(), "\n"); strings.Contains(calls, "stop-sandbox") || strings.Count(calls, "stopping c") != 1 {
		t.Errorf("the agent's stop went on with the deletion:\n%s", calls)
	}
}

// lastStatusLog keeps each pod's last published status, also after its
// final delete.
type lastStatusLog struct {
	*MemoryStatus
	mu   sync.Mutex
	last map[types.UID]v1.PodStatus
}

func (l *lastStatusLog) SetPodStatus(pod *v1.Pod, s v1.PodStatus) {
	l.mu.Lock()
	l.last[pod.UID] = *s.DeepCopy()
	l.mu.Unlock()
	l.MemoryStatus.SetPodStatus(pod, s)
}

func (l *lastStatusLog) get(uid types.UID) v1.PodStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last[uid]
}

// TestDeletedPodThatNeverRanEndsFailed: a pod deleted while its container
// could not start (its image is missing) ends Failed, the container
// terminated as ContainerStatusUnknown, not Pending for good (the kubelet's
// TerminatePod); a container that ran keeps its own exit.
func TestDeletedPodThatNeverRanEndsFailed(t *testing.T) {
	rt := newFakeRuntime()
	log := &lastStatusLog{MemoryStatus: NewMemoryStatus(), last: map[types.UID]v1.PodStatus{}}
	h := startHarnessWith(t, rt, rt, func(c *Config) { c.Status = log })
	h.status = log.MemoryStatus // what waitFor and waitGone read
	pod := graced(apiPod("p", "", 1), 1)
	pod.Spec.Containers = append(pod.Spec.Containers, v1.Container{Name: "m", Image: "missing", ImagePullPolicy: v1.PullNever})
	h.send(pod)
	h.waitFor("p", "c running, m waiting", func(p *v1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 2 && p.Status.ContainerStatuses[0].State.Running != nil &&
			p.Status.ContainerStatuses[1].State.Waiting != nil
	})
	h.send(deletedPod(pod, 1))
	h.waitGone("p")
	s := log.get(pod.UID)
	if s.Phase != v1.PodFailed || len(s.ContainerStatuses) != 2 {
		t.Fatalf("final status: %+v", s)
	}
	if tc := s.ContainerStatuses[0].State.Terminated; tc == nil || tc.ExitCode != 143 {
		t.Errorf("the container that ran: %+v", s.ContainerStatuses[0].State)
	}
	if tm := s.ContainerStatuses[1].State.Terminated; tm == nil || tm.Reason != "ContainerStatusUnknown" || tm.ExitCode != 137 {
		t.Errorf("the container that never started: %+v", s.ContainerStatuses[1].State)
	}
}

// TestActiveDeadlineExceeded: a pod past its activeDeadlineSeconds fails
// with DeadlineExceeded (and the kubelet's event), its container stopped.
func TestActiveDeadlineExceeded(t *testing.T) {
	rt := newFakeRuntime()
	h := newHarness(t, rt)
	pod := graced(apiPod("p", "", 1), 1)
	deadline := int64(1)
	pod.Spec.ActiveDeadlineSeconds = &deadline
	h.send(pod)
	h.waitFor("p", "running", running("c"))
	p := h.waitFor("p", "failed past its deadline", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	if p.Status.Reason != "DeadlineExceeded" || p.Status.Message != "Pod was active on the node longer than the specified deadline" {
		t.Errorf("status reason %q message %q", p.Status.Reason, p.Status.Message)
	}
	h.waitEvent("Normal DeadlineExceeded : Pod was active on the node longer than the specified deadline")
	h.waitCall("stop c")
}
