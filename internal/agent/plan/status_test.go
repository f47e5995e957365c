package plan

import (
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func running() v1.ContainerState { return v1.ContainerState{Running: &v1.ContainerStateRunning{}} }
func waiting(r string) v1.ContainerState {
	return v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: r}}
}
func exited(code int32) v1.ContainerState {
	return v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: code}}
}
func st(name string, s v1.ContainerState) v1.ContainerStatus {
	return v1.ContainerStatus{Name: name, State: s}
}
func restarting(name string, lastExit int32) v1.ContainerStatus {
	s := st(name, waiting(ReasonCrashLoopBackOff))
	s.LastTerminationState = exited(lastExit)
	return s
}

func TestGetPhase(t *testing.T) {
	sidecar := testPod(v1.RestartPolicyAlways, []string{"side"}, "a")
	always := v1.ContainerRestartPolicyAlways
	sidecar.Spec.InitContainers[0].RestartPolicy = &always
	started, notStarted := true, false
	sideRunning := func(s *bool) v1.ContainerStatus { c := st("side", running()); c.Started = s; return c }

	tests := []struct {
		name     string
		pod      *v1.Pod
		statuses []v1.ContainerStatus
		terminal bool
		want     v1.PodPhase
	}{
		{"no statuses", testPod(v1.RestartPolicyAlways, nil, "a"), nil, false, v1.PodPending},
		{"waiting", testPod(v1.RestartPolicyAlways, nil, "a"), []v1.ContainerStatus{st("a", waiting(ReasonContainerCreating))}, false, v1.PodPending},
		{"image pull back-off on first start", testPod(v1.RestartPolicyAlways, nil, "a"), []v1.ContainerStatus{st("a", waiting(ReasonImagePullBackOff))}, false, v1.PodPending},
		{"running", testPod(v1.RestartPolicyAlways, nil, "a", "b"), []v1.ContainerStatus{st("a", running()), st("b", running())}, false, v1.PodRunning},
		{"running and unknown", testPod(v1.RestartPolicyAlways, nil, "a", "b"), []v1.ContainerStatus{st("a", running())}, false, v1.PodPending},
		{"running and waiting", testPod(v1.RestartPolicyAlways, nil, "a", "b"), []v1.ContainerStatus{st("a", running()), st("b", waiting(""))}, false, v1.PodPending},
		{"running and restarting", testPod(v1.RestartPolicyAlways, nil, "a", "b"), []v1.ContainerStatus{st("a", running()), restarting("b", 1)}, false, v1.PodRunning},
		{"Always crash looping stays Running", testPod(v1.RestartPolicyAlways, nil, "a"), []v1.ContainerStatus{restarting("a", 1)}, false, v1.PodRunning},
		{"Always all exited 0 stays Running", testPod(v1.RestartPolicyAlways, nil, "a"), []v1.ContainerStatus{st("a", exited(0))}, false, v1.PodRunning},
		{"Never exit 0", testPod(v1.RestartPolicyNever, nil, "a"), []v1.ContainerStatus{st("a", exited(0))}, false, v1.PodSucceeded},
		{"Never exit 1", testPod(v1.RestartPolicyNever, nil, "a"), []v1.ContainerStatus{st("a", exited(1))}, false, v1.PodFailed},
		{"Never one failed one running", testPod(v1.RestartPolicyNever, nil, "a", "b"), []v1.ContainerStatus{st("a", exited(1)), st("b", running())}, false, v1.PodRunning},
		{"OnFailure all succeeded", testPod(v1.RestartPolicyOnFailure, nil, "a", "b"), []v1.ContainerStatus{st("a", exited(0)), st("b", exited(0))}, false, v1.PodSucceeded},
		{"OnFailure failed restarting", testPod(v1.RestartPolicyOnFailure, nil, "a"), []v1.ContainerStatus{restarting("a", 2)}, false, v1.PodRunning},
		{"terminal Always all succeeded", testPod(v1.RestartPolicyAlways, nil, "a"), []v1.ContainerStatus{st("a", exited(0))}, true, v1.PodSucceeded},
		{"terminal Always one failed", testPod(v1.RestartPolicyAlways, nil, "a", "b"), []v1.ContainerStatus{st("a", exited(0)), st("b", exited(137))}, true, v1.PodFailed},
		{"init pending", testPod(v1.RestartPolicyAlways, []string{"i"}, "a"), []v1.ContainerStatus{st("i", waiting(ReasonPodInitializing)), st("a", waiting(ReasonPodInitializing))}, false, v1.PodPending},
		{"init running", testPod(v1.RestartPolicyAlways, []string{"i"}, "a"), []v1.ContainerStatus{st("i", running()), st("a", waiting(ReasonPodInitializing))}, false, v1.PodPending},
		{"init failed Never", testPod(v1.RestartPolicyNever, []string{"i"}, "a"), []v1.ContainerStatus{st("i", exited(1)), st("a", waiting(ReasonPodInitializing))}, false, v1.PodFailed},
		{"init failed and waiting Never", testPod(v1.RestartPolicyNever, []string{"i"}, "a"), []v1.ContainerStatus{restarting("i", 1), st("a", waiting(ReasonPodInitializing))}, false, v1.PodFailed},
		{"init failed OnFailure", testPod(v1.RestartPolicyOnFailure, []string{"i"}, "a"), []v1.ContainerStatus{restarting("i", 1), st("a", waiting(ReasonPodInitializing))}, false, v1.PodPending},
		{"init done, app running", testPod(v1.RestartPolicyAlways, []string{"i"}, "a"), []v1.ContainerStatus{st("i", exited(0)), st("a", running())}, false, v1.PodRunning},
		{"sidecar running not started", sidecar, []v1.ContainerStatus{sideRunning(&notStarted), st("a", waiting(ReasonPodInitializing))}, false, v1.PodPending},
		{"sidecar started, app running", sidecar, []v1.ContainerStatus{sideRunning(&started), st("a", running())}, false, v1.PodRunning},
		{"sidecar restarting after app started", sidecar, []v1.ContainerStatus{sideRunning(&notStarted), st("a", running())}, false, v1.PodRunning},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := getPhase(tc.pod, tc.statuses, tc.terminal); got != tc.want {
				t.Errorf("phase = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestGetPhaseStaticPodIgnoresTerminal(t *testing.T) {
	pod := testPod(v1.RestartPolicyAlways, nil, "a")
	pod.Annotations = map[string]string{ConfigSourceAnnotation: "file"}
	if got := getPhase(pod, []v1.ContainerStatus{st("a", exited(0))}, true); got != v1.PodRunning {
		t.Fatalf("phase = %s, want Running", got)
	}
}

func cond(s v1.PodStatus, t v1.PodConditionType) v1.PodCondition {
	for _, c := range s.Conditions {
		if c.Type == t {
			return c
		}
	}
	return v1.PodCondition{}
}

func TestGenerateStatusInitializing(t *testing.T) {
	pod := testPod(v1.RestartPolicyAlways, []string{"i1", "i2"}, "b", "a")
	o := obs(sb(readySandbox("sb1", 0)), ctr("i1", 0, "exit:0", 1), ctr("i2", 0, "running", 2))
	s := GenerateStatus(pod, o, t0)
	if s.Phase != v1.PodPending {
		t.Fatalf("phase %s", s.Phase)
	}
	if s.InitContainerStatuses[0].Name != "i1" || !s.InitContainerStatuses[0].Ready || s.InitContainerStatuses[0].State.Terminated == nil {
		t.Fatalf("i1: %+v", s.InitContainerStatuses[0])
	}
	if s.InitContainerStatuses[1].State.Running == nil || !*s.InitContainerStatuses[1].Started {
		t.Fatalf("i2: %+v", s.InitContainerStatuses[1])
	}
	// regular containers sorted by name, waiting PodInitializing
	if s.ContainerStatuses[0].Name != "a" || s.ContainerStatuses[0].State.Waiting.Reason != ReasonPodInitializing {
		t.Fatalf("a: %+v", s.ContainerStatuses[0])
	}
	want := map[v1.PodConditionType][3]string{
		v1.PodReadyToStartContainers: {"True", "", ""},
		v1.PodInitialized:            {"False", ReasonContainersNotInitialized, "containers with incomplete status: [i2]"},
		v1.ContainersReady:           {"False", ReasonContainersNotReady, "containers with unready status: [b a]"},
		v1.PodReady:                  {"False", ReasonContainersNotReady, "containers with unready status: [b a]"},
		v1.PodScheduled:              {"True", "", ""},
	}
	for ct, w := range want {
		c := cond(s, ct)
		if string(c.Status) != w[0] || c.Reason != w[1] || c.Message != w[2] {
			t.Errorf("%s = %s/%s/%q, want %v", ct, c.Status, c.Reason, c.Message, w)
		}
	}
	order := []v1.PodConditionType{v1.PodReadyToStartContainers, v1.PodInitialized, v1.PodReady, v1.ContainersReady, v1.PodScheduled}
	for i, c := range s.Conditions {
		if c.Type != order[i] {
			t.Fatalf("condition order %v", s.Conditions)
		}
	}
	if s.PodIP != "10.0.0.5" || s.HostIP != "192.0.2.10" || s.StartTime == nil || s.QOSClass != v1.PodQOSBestEffort {
		t.Fatalf("ips/start/qos: %+v", s)
	}
}

func TestGenerateStatusRunningReady(t *testing.T) {
	pod := testPod(v1.RestartPolicyAlways, nil, "a")
	o := obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "exit:1", 1), ctr("a", 1, "running", 5))
	s := GenerateStatus(pod, o, t0)
	c := s.ContainerStatuses[0]
	if s.Phase != v1.PodRunning || !c.Ready || !*c.Started || c.RestartCount != 1 {
		t.Fatalf("status %+v", s)
	}
	if c.State.Running == nil || c.LastTerminationState.Terminated == nil || c.LastTerminationState.Terminated.ExitCode != 1 {
		t.Fatalf("state/lastState %+v", c)
	}
	if c.ContainerID != ContainerIDPrefix+o.Containers[1].ID || c.ImageID != "sha256:abc" {
		t.Fatalf("ids %+v", c)
	}
	if cond(s, v1.PodReady).Status != v1.ConditionTrue || cond(s, v1.PodInitialized).Status != v1.ConditionTrue {
		t.Fatalf("conditions %+v", s.Conditions)
	}
}

func TestGenerateStatusReadinessProbeWithoutResult(t *testing.T) {
	pod := testPod(v1.RestartPolicyAlways, nil, "a")
	pod.Spec.Containers[0].ReadinessProbe = &v1.Probe{}
	o := obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "running", 1))
	if s := GenerateStatus(pod, o, t0); s.ContainerStatuses[0].Ready || cond(s, v1.PodReady).Status != v1.ConditionFalse {
		t.Fatal("ready without a readiness result")
	}
	o.Readiness = map[string]bool{o.Containers[0].ID: true}
	if s := GenerateStatus(pod, o, t0); !s.ContainerStatuses[0].Ready {
		t.Fatal("not ready with a passing readiness result")
	}
}

func TestGenerateStatusWaitingReasons(t *testing.T) {
	pod := testPod(v1.RestartPolicyAlways, nil, "a")
	o := obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "exit:1", 1))
	o.StartErrors = map[string]StartError{"a": {Reason: ReasonCrashLoopBackOff, Message: "back-off 10s restarting failed container=a pod=web_default(uid1)"}}
	s := GenerateStatus(pod, o, t0)
	c := s.ContainerStatuses[0]
	if c.State.Waiting == nil || c.State.Waiting.Reason != ReasonCrashLoopBackOff || c.State.Waiting.Message != o.StartErrors["a"].Message {
		t.Fatalf("state %+v", c.State)
	}
	if c.LastTerminationState.Terminated == nil || c.LastTerminationState.Terminated.Reason != "Error" {
		t.Fatalf("lastState %+v", c.LastTerminationState)
	}
	if s.Phase != v1.PodRunning || c.Ready {
		t.Fatalf("phase %s ready %v", s.Phase, c.Ready)
	}

	// A container that never ran: the pull error, pod Pending.
	o = obs(sb(readySandbox("sb1", 0)))
	o.StartErrors = map[string]StartError{"a": {Reason: ReasonErrImagePull, Message: `pulling "nope": not found`}}
	s = GenerateStatus(pod, o, t0)
	if w := s.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != ReasonErrImagePull || w.Message != `pulling "nope": not found` || s.Phase != v1.PodPending {
		t.Fatalf("status %+v", s)
	}

	// Never: an exited container is not restarted, so the error is not shown.
	never := testPod(v1.RestartPolicyNever, nil, "a")
	o = obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "exit:0", 1))
	o.StartErrors = map[string]StartError{"a": {Reason: ReasonRunContainerError}}
	if s := GenerateStatus(never, o, t0); s.ContainerStatuses[0].State.Terminated == nil || s.Phase != v1.PodSucceeded {
		t.Fatalf("status %+v", s)
	}
}

func TestGenerateStatusTerminalPhaseIsMonotonic(t *testing.T) {
	pod := testPod(v1.RestartPolicyNever, nil, "a")
	o := obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "exit:1", 1))
	s := GenerateStatus(pod, o, t0)
	if s.Phase != v1.PodFailed {
		t.Fatalf("phase %s", s.Phase)
	}
	if c := cond(s, v1.ContainersReady); c.Reason != ReasonPodFailed {
		t.Fatalf("ContainersReady %+v", c)
	}
	// The runtime lost the container; the phase stays Failed, the state stays.
	o = obs(nil)
	o.LastStatus = &s
	s2 := GenerateStatus(pod, o, t0.Add(time.Minute))
	if s2.Phase != v1.PodFailed || s2.ContainerStatuses[0].State.Terminated == nil || s2.PodIP != "10.0.0.5" {
		t.Fatalf("after loss: %+v", s2)
	}
	if !s2.StartTime.Equal(s.StartTime) {
		t.Fatal("start time changed")
	}
	if c := cond(s2, v1.PodScheduled); !c.LastTransitionTime.Equal(&metav1.Time{Time: t0}) {
		t.Fatalf("transition time moved: %v", c.LastTransitionTime)
	}
	if c := cond(s2, v1.PodReadyToStartContainers); c.Status != v1.ConditionFalse || !c.LastTransitionTime.Equal(&metav1.Time{Time: t0.Add(time.Minute)}) {
		t.Fatalf("PodReadyToStartContainers %+v", c)
	}
}

func TestGenerateStatusVanishedRunningContainer(t *testing.T) {
	pod := testPod(v1.RestartPolicyAlways, nil, "a")
	o := obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "running", 1))
	s := GenerateStatus(pod, o, t0)
	o = obs(sb(readySandbox("sb1", 0)))
	o.LastStatus = &s
	s2 := GenerateStatus(pod, o, t0)
	c := s2.ContainerStatuses[0]
	if c.LastTerminationState.Terminated == nil || c.LastTerminationState.Terminated.Reason != ReasonContainerStatusUnknown || c.RestartCount != 1 {
		t.Fatalf("status %+v", c)
	}
	if s2.Phase != v1.PodRunning {
		t.Fatalf("phase %s", s2.Phase)
	}
}

func TestGenerateStatusSucceededConditions(t *testing.T) {
	pod := testPod(v1.RestartPolicyOnFailure, []string{"i"}, "a")
	o := obs(sb(readySandbox("sb1", 0)), ctr("i", 0, "exit:0", 1), ctr("a", 0, "exit:0", 2))
	s := GenerateStatus(pod, o, t0)
	if s.Phase != v1.PodSucceeded {
		t.Fatalf("phase %s", s.Phase)
	}
	if c := cond(s, v1.PodInitialized); c.Status != v1.ConditionTrue || c.Reason != ReasonPodCompleted {
		t.Fatalf("Initialized %+v", c)
	}
	if c := cond(s, v1.PodReady); c.Status != v1.ConditionFalse || c.Reason != ReasonPodCompleted {
		t.Fatalf("Ready %+v", c)
	}
}

func TestGenerateStatusHostNetworkAndQOS(t *testing.T) {
	pod := testPod(v1.RestartPolicyAlways, nil, "a")
	pod.Spec.HostNetwork = true
	s := readySandbox("sb1", 0)
	s.IP, s.IPs = "10.9.9.9", []string{"10.9.9.9"} // whatever the runtime says
	o := obs(sb(s), ctr("a", 0, "running", 1))
	st := GenerateStatus(pod, o, t0)
	if st.PodIP != "192.0.2.10" || cond(st, v1.PodReadyToStartContainers).Status != v1.ConditionTrue {
		t.Fatalf("host network: %+v", st)
	}
}

func TestGenerateStatusInfersInitCompletion(t *testing.T) {
	pod := testPod(v1.RestartPolicyAlways, []string{"i"}, "a")
	o := obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "running", 1))
	s := GenerateStatus(pod, o, t0)
	i := s.InitContainerStatuses[0]
	if i.State.Terminated == nil || i.State.Terminated.Reason != "Completed" || !i.Ready || s.Phase != v1.PodRunning {
		t.Fatalf("init %+v, phase %s", i, s.Phase)
	}
	if c := cond(s, v1.PodInitialized); c.Status != v1.ConditionTrue {
		t.Fatalf("Initialized %+v", c)
	}
}

// TestGenerateStatusCapsTerminationMessages: a pod's termination messages
// share 12 KiB, each cut to its part from the start (kubelet
// normalizeStatus), in the state and the last termination state alike.
func TestGenerateStatusCapsTerminationMessages(t *testing.T) {
	pod := testPod(v1.RestartPolicyAlways, []string{"i"}, "a", "b")
	long := strings.Repeat("x", 5000) + "END"
	i, a1, b := ctr("i", 0, "exit:0", 1), ctr("a", 0, "exit:1", 2), ctr("b", 0, "exit:1", 3)
	i.Message, a1.Message, b.Message = long, long, "short"
	s := GenerateStatus(pod, obs(sb(readySandbox("sb1", 0)), i, a1, ctr("a", 1, "running", 5), b), t0)
	per := 12 * 1024 / 3
	if m := s.InitContainerStatuses[0].State.Terminated.Message; len(m) != per || !strings.HasPrefix(long, m) {
		t.Errorf("init container's message: %d bytes", len(m))
	}
	if m := s.ContainerStatuses[0].LastTerminationState.Terminated.Message; len(m) != per {
		t.Errorf("last termination message: %d bytes", len(m))
	}
	if m := s.ContainerStatuses[1].State.Terminated.Message; m != "short" {
		t.Errorf("short message changed: %q", m)
	}
}

// TestTerminalStatus: the final status of a pod whose containers are gone,
// as the kubelet's TerminatePod makes it.
func TestTerminalStatus(t *testing.T) {
	waiting := func(name string) v1.ContainerStatus {
		return v1.ContainerStatus{Name: name, State: v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: ReasonErrImageNeverPull}}}
	}
	exited := func(name string, code int32) v1.ContainerStatus {
		return v1.ContainerStatus{Name: name, State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: code, Reason: "Error"}}}
	}
	isUnknown := func(cs v1.ContainerStatus) bool {
		t := cs.State.Terminated
		return t != nil && t.Reason == ReasonContainerStatusUnknown && t.ExitCode == 137 &&
			t.Message == "The container could not be located when the pod was terminated"
	}

	// Never started (deleted while its image could not be had): Failed,
	// its container terminated as unknown; an exit of its own is kept.
	pod := testPod(v1.RestartPolicyAlways, nil, "a", "b")
	s := v1.PodStatus{Phase: v1.PodPending, ContainerStatuses: []v1.ContainerStatus{waiting("a"), exited("b", 143)}}
	TerminalStatus(pod, &s)
	if s.Phase != v1.PodFailed || !isUnknown(s.ContainerStatuses[0]) || s.ContainerStatuses[1].State.Terminated.ExitCode != 143 {
		t.Errorf("never started: %+v", s)
	}

	// Not initialized: the app containers stay waiting; of the init
	// containers, those up to the last one that started are terminated.
	pod = testPod(v1.RestartPolicyAlways, []string{"i1", "i2", "i3"}, "a")
	running := v1.ContainerStatus{Name: "i2", State: v1.ContainerState{Running: &v1.ContainerStateRunning{}}}
	s = v1.PodStatus{Phase: v1.PodPending,
		InitContainerStatuses: []v1.ContainerStatus{exited("i1", 0), running, waiting("i3")},
		ContainerStatuses:     []v1.ContainerStatus{waiting("a")}}
	TerminalStatus(pod, &s)
	if s.Phase != v1.PodFailed || !isUnknown(s.InitContainerStatuses[1]) || s.InitContainerStatuses[2].State.Waiting == nil ||
		s.ContainerStatuses[0].State.Waiting == nil || s.InitContainerStatuses[0].State.Terminated.ExitCode != 0 {
		t.Errorf("during init: %+v", s)
	}

	// A finished pod keeps its phase; a static pod is not failed.
	s = v1.PodStatus{Phase: v1.PodSucceeded, ContainerStatuses: []v1.ContainerStatus{exited("a", 0)}}
	TerminalStatus(testPod(v1.RestartPolicyNever, nil, "a"), &s)
	if s.Phase != v1.PodSucceeded {
		t.Errorf("succeeded pod: %s", s.Phase)
	}
	static := testPod(v1.RestartPolicyAlways, nil, "a")
	static.Annotations = map[string]string{ConfigSourceAnnotation: "file"}
	s = v1.PodStatus{Phase: v1.PodRunning, ContainerStatuses: []v1.ContainerStatus{waiting("a")}}
	TerminalStatus(static, &s)
	if s.Phase != v1.PodRunning {
		t.Errorf("static pod: %s", s.Phase)
	}
}

// TestGenerateStatusInitRecordsGone: init containers whose records are gone
// are reported completed once an app container was created, also when it
// has exited since (a crash-looping app: the pod stays Running, not
// Init:0/1), with the kubelet's message.
func TestGenerateStatusInitRecordsGone(t *testing.T) {
	pod := testPod(v1.RestartPolicyAlways, []string{"i"}, "a")
	s := GenerateStatus(pod, obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "exit:1", 1)), t0)
	it := s.InitContainerStatuses[0].State.Terminated
	if it == nil || it.Reason != "Completed" || !strings.HasPrefix(it.Message, "Unable to get init container status") || s.Phase != v1.PodRunning {
		t.Fatalf("phase %s, init container %+v", s.Phase, s.InitContainerStatuses[0].State)
	}
}

// TestActiveDeadline: past spec.activeDeadlineSeconds (from the pod's
// start time) the pod is Failed with DeadlineExceeded and its containers
// are killed, not restarted.
func TestActiveDeadline(t *testing.T) {
	pod := testPod(v1.RestartPolicyAlways, nil, "a")
	deadline := int64(30)
	pod.Spec.ActiveDeadlineSeconds = &deadline
	o := obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "running", 1))
	started := metav1.NewTime(t0.Add(-29 * time.Second))
	o.LastStatus = &v1.PodStatus{Phase: v1.PodRunning, StartTime: &started}
	if s := GenerateStatus(pod, o, t0); s.Phase != v1.PodRunning {
		t.Fatalf("before the deadline: %s %s", s.Phase, s.Reason)
	}
	later := t0.Add(time.Second)
	s := GenerateStatus(pod, o, later)
	if s.Phase != v1.PodFailed || s.Reason != ReasonDeadlineExceeded || s.Message != MessageDeadlineExceeded {
		t.Fatalf("at the deadline: %s %s %q", s.Phase, s.Reason, s.Message)
	}
	if p := Compute(pod, o, later, nil); summary(p) != "kill:a/30s stop-sandbox:sb1" {
		t.Fatalf("plan at the deadline: %s", summary(p))
	}
}
