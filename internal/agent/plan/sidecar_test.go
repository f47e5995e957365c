package plan

import (
	"fmt"
	"sort"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// sidecarPod is testPod whose init containers named in sidecars have
// restartPolicy Always.
func sidecarPod(policy v1.RestartPolicy, inits []string, sidecars map[string]bool, apps ...string) *v1.Pod {
	p := testPod(policy, inits, apps...)
	always := v1.ContainerRestartPolicyAlways
	for i := range p.Spec.InitContainers {
		if sidecars[p.Spec.InitContainers[i].Name] {
			p.Spec.InitContainers[i].RestartPolicy = &always
		}
	}
	return p
}

// Sidecars as the kubelet's computeInitContainerActions (SEMANTICS.md §2):
// started in order, the next init container once the sidecar runs (and its
// startup probe passed); restarted whenever they exit, whatever the pod's
// policy; not keeping a finished pod alive.
func TestComputeSidecars(t *testing.T) {
	side := map[string]bool{"side": true}
	withStartup := func(p *v1.Pod) *v1.Pod {
		p.Spec.InitContainers[0].StartupProbe = &v1.Probe{}
		return p
	}
	withLiveness := func(p *v1.Pod) *v1.Pod {
		p.Spec.InitContainers[0].LivenessProbe = &v1.Probe{}
		return p
	}
	running := ctr("side", 0, "running", 1)
	tests := []struct {
		name  string
		pod   *v1.Pod
		obs   *Observed
		probe func(o *Observed)
		want  string
	}{
		{"new pod: the sidecar first", sidecarPod(v1.RestartPolicyAlways, []string{"side", "i1"}, side, "a"),
			obs(nil), nil, "create-sandbox:0 init:side#0"},
		{"sidecar running: the next init container", sidecarPod(v1.RestartPolicyAlways, []string{"side", "i1"}, side, "a"),
			obs(sb(readySandbox("sb1", 0)), running), nil, "init:i1#0"},
		{"sidecar running as the last init container: the apps", sidecarPod(v1.RestartPolicyNever, []string{"i1", "side"}, side, "a", "b"),
			obs(sb(readySandbox("sb1", 0)), ctr("i1", 0, "exit:0", 1), ctr("side", 0, "running", 2)), nil, "start:a#0 start:b#0"},
		{"startup probe not passed yet: wait", withStartup(sidecarPod(v1.RestartPolicyAlways, []string{"side", "i1"}, side, "a")),
			obs(sb(readySandbox("sb1", 0)), running), nil, "-"},
		{"startup probe passed: the next", withStartup(sidecarPod(v1.RestartPolicyAlways, []string{"side", "i1"}, side, "a")),
			obs(sb(readySandbox("sb1", 0)), running), func(o *Observed) { o.Startup = map[string]bool{running.ID: true} }, "init:i1#0"},
		{"startup probe failed: restart the sidecar", withStartup(sidecarPod(v1.RestartPolicyNever, []string{"side", "i1"}, side, "a")),
			obs(sb(readySandbox("sb1", 0)), running), func(o *Observed) {
				o.Startup = map[string]bool{running.ID: false}
				o.StartupFailed = map[string]bool{running.ID: false}
			}, "kill:side/30s init:side#1"},
		{"a regular init container runs: the sidecar stays", sidecarPod(v1.RestartPolicyAlways, []string{"side", "i1"}, side, "a"),
			obs(sb(readySandbox("sb1", 0)), running, ctr("i1", 0, "running", 2)), nil, "-"},
		{"a sidecar that exited during init restarts", sidecarPod(v1.RestartPolicyNever, []string{"side", "i1"}, side, "a"),
			obs(sb(readySandbox("sb1", 0)), ctr("side", 0, "exit:1", 1), ctr("i1", 0, "running", 2)), nil, "init:side#1"},
		{"initialized: an exited sidecar restarts under Never, apps keep running", sidecarPod(v1.RestartPolicyNever, []string{"side", "i1"}, side, "a"),
			obs(sb(readySandbox("sb1", 0)), ctr("side", 0, "exit:0", 1), ctr("i1", 0, "exit:0", 2), ctr("a", 0, "running", 3)), nil, "init:side#1"},
		{"initialized: a sidecar whose record is gone starts again", sidecarPod(v1.RestartPolicyAlways, []string{"side", "i1"}, side, "a"),
			obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "running", 3)), nil, "init:side#0"},
		{"liveness failed: the sidecar restarts", withLiveness(sidecarPod(v1.RestartPolicyNever, []string{"side"}, side, "a")),
			obs(sb(readySandbox("sb1", 0)), running, ctr("a", 0, "running", 3)), func(o *Observed) { o.Liveness = map[string]bool{running.ID: false} },
			"kill:side/30s init:side#1"},
		{"apps done under Never: the sidecar is stopped, not restarted", sidecarPod(v1.RestartPolicyNever, []string{"side"}, side, "a"),
			obs(sb(readySandbox("sb1", 0)), running, ctr("a", 0, "exit:0", 3)), nil, "kill:side/30s stop-sandbox:sb1"},
		{"apps done, the sidecar exited too: nothing restarts", sidecarPod(v1.RestartPolicyOnFailure, []string{"side"}, side, "a"),
			obs(sb(readySandbox("sb1", 0)), ctr("side", 0, "exit:143", 1), ctr("a", 0, "exit:0", 3)), nil, "stop-sandbox:sb1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.probe != nil {
				tc.probe(tc.obs)
			}
			p := Compute(tc.pod, tc.obs, t0.Add(time.Hour), nil)
			if got := summary(p); got != tc.want {
				t.Errorf("plan = %q, want %q", got, tc.want)
			}
		})
	}
	// The probe-failure kill says why, as the kubelet's.
	pod := withLiveness(sidecarPod(v1.RestartPolicyAlways, []string{"side"}, side, "a"))
	o := obs(sb(readySandbox("sb1", 0)), running, ctr("a", 0, "running", 3))
	o.Liveness = map[string]bool{running.ID: false}
	if p := Compute(pod, o, t0, nil); len(p.Kill) != 1 || p.Kill[0].Message != "Init container side failed liveness probe" || p.KillPod {
		t.Fatalf("kill %+v", p.Kill)
	}
}

// A sidecar's status: started and ready from its probes; a pod whose app
// containers finished under Never is Running while its sidecar runs and
// Succeeded once the sidecar was stopped; a sidecar waiting in back-off
// shows CrashLoopBackOff under restartPolicy Always, and, as with the
// kubelet (whose status follows the pod's policy), its exit under Never.
func TestSidecarStatus(t *testing.T) {
	pod := sidecarPod(v1.RestartPolicyNever, []string{"side"}, map[string]bool{"side": true}, "a")
	pod.Spec.InitContainers[0].ReadinessProbe = &v1.Probe{}
	side := ctr("side", 0, "running", 1)
	o := obs(sb(readySandbox("sb1", 0)), side, ctr("a", 0, "running", 2))
	s := GenerateStatus(pod, o, t0.Add(time.Minute))
	is := s.InitContainerStatuses[0]
	if !*is.Started || is.Ready || s.Phase != v1.PodRunning {
		t.Fatalf("unready sidecar: started %v ready %v phase %s", *is.Started, is.Ready, s.Phase)
	}
	if c := cond(s, v1.ContainersReady); c.Status != v1.ConditionFalse || c.Message != "containers with unready status: [side]" {
		t.Fatalf("ContainersReady %+v", c)
	}
	o.Readiness = map[string]bool{side.ID: true}
	s = GenerateStatus(pod, o, t0.Add(time.Minute))
	if is := s.InitContainerStatuses[0]; !is.Ready || cond(s, v1.PodReady).Status != v1.ConditionTrue || cond(s, v1.PodInitialized).Status != v1.ConditionTrue {
		t.Fatalf("ready sidecar: %+v %+v", is, s.Conditions)
	}

	done := obs(sb(readySandbox("sb1", 0)), side, ctr("a", 0, "exit:0", 2))
	if s := GenerateStatus(pod, done, t0.Add(time.Minute)); s.Phase != v1.PodRunning {
		t.Fatalf("apps done, sidecar running: %s", s.Phase)
	}
	stopped := obs(sb(readySandbox("sb1", 0)), ctr("side", 0, "exit:143", 1), ctr("a", 0, "exit:0", 2))
	if s := GenerateStatus(pod, stopped, t0.Add(time.Minute)); s.Phase != v1.PodSucceeded {
		t.Fatalf("apps done, sidecar stopped: %s", s.Phase)
	}

	crashed := obs(sb(readySandbox("sb1", 0)), ctr("side", 0, "exit:1", 1), ctr("a", 0, "running", 2))
	crashed.StartErrors = map[string]StartError{"side": {Reason: ReasonCrashLoopBackOff, Message: "back-off 10s", At: t0}}
	s = GenerateStatus(pod, crashed, t0.Add(time.Minute))
	if st := s.InitContainerStatuses[0]; st.State.Terminated == nil || st.State.Terminated.ExitCode != 1 {
		t.Fatalf("sidecar in back-off under Never: %+v", st)
	}
	always := pod.DeepCopy()
	always.Spec.RestartPolicy = v1.RestartPolicyAlways
	s = GenerateStatus(always, crashed, t0.Add(time.Minute))
	if w := s.InitContainerStatuses[0].State.Waiting; w == nil || w.Reason != ReasonCrashLoopBackOff || s.InitContainerStatuses[0].LastTerminationState.Terminated == nil {
		t.Fatalf("sidecar in back-off: %+v", s.InitContainerStatuses[0])
	}
}

// A deleted pod whose last init container is a sidecar that had started
// is initialized for its final status (kubelet hasPodInitialized, on the
// API's copy): an app container that never ran ends
// ContainerStatusUnknown, though the sidecar is stopped by then.
func TestSidecarTerminalStatus(t *testing.T) {
	pod := sidecarPod(v1.RestartPolicyAlways, []string{"i1", "side"}, map[string]bool{"side": true}, "a")
	started := true
	pod.Status.InitContainerStatuses = []v1.ContainerStatus{
		{Name: "i1", State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 0}}},
		{Name: "side", Started: &started, State: v1.ContainerState{Running: &v1.ContainerStateRunning{}}},
	}
	s := v1.PodStatus{Phase: v1.PodPending,
		InitContainerStatuses: []v1.ContainerStatus{
			{Name: "i1", State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 0}}},
			{Name: "side", State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 137}}},
		},
		ContainerStatuses: []v1.ContainerStatus{{Name: "a", State: v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}}},
	}
	TerminalStatus(pod, &s)
	if t2 := s.ContainerStatuses[0].State.Terminated; t2 == nil || t2.Reason != ReasonContainerStatusUnknown || s.Phase != v1.PodFailed {
		t.Fatalf("final status %+v %s", s.ContainerStatuses[0].State, s.Phase)
	}
}

// A pod kill stops sidecars last, in reverse order (kubelet
// terminationOrdering); the plan marks it.
func TestStopAfter(t *testing.T) {
	pod := sidecarPod(v1.RestartPolicyAlways, []string{"s1", "i1", "s2"}, map[string]bool{"s1": true, "s2": true}, "a", "b")
	ts := metav1.NewTime(t0)
	pod.DeletionTimestamp = &ts
	o := obs(sb(readySandbox("sb1", 0)), ctr("s1", 0, "running", 1), ctr("i1", 0, "exit:0", 2), ctr("s2", 0, "running", 3),
		ctr("a", 0, "running", 4), ctr("b", 0, "running", 4))
	p := Compute(pod, o, t0, nil)
	if !p.KillPod {
		t.Fatal("a deletion's kills are not marked KillPod")
	}
	after := StopAfter(pod, p.Kill)
	got := map[string][]string{}
	for i, k := range p.Kill {
		for _, j := range after[i] {
			got[k.Name] = append(got[k.Name], p.Kill[j].Name)
		}
	}
	want := map[string][]string{"s2": {"a", "b"}, "s1": {"a", "b", "s2"}}
	for _, k := range p.Kill {
		g := append([]string(nil), got[k.Name]...)
		sort.Strings(g)
		if fmt.Sprint(g) != fmt.Sprint(want[k.Name]) {
			t.Errorf("%s waits for %v, want %v", k.Name, g, want[k.Name])
		}
	}
	if len(p.Kill) != 4 {
		t.Errorf("kills %+v", p.Kill)
	}
}
