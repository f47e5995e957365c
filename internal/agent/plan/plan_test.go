package plan

import (
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peapod/peapod/internal/runtime"
)

func TestCompute(t *testing.T) {
	deleted := func(p *v1.Pod, grace int64) *v1.Pod {
		ts := metav1.NewTime(t0)
		p.DeletionTimestamp = &ts
		p.DeletionGracePeriodSeconds = &grace
		return p
	}
	noIP := readySandbox("sb1", 0)
	noIP.IP, noIP.IPs = "", nil

	tests := []struct {
		name string
		pod  *v1.Pod
		obs  *Observed
		want string
	}{
		{"new pod without init containers", testPod(v1.RestartPolicyAlways, nil, "a", "b"),
			obs(nil), "create-sandbox:0 start:a#0 start:b#0"},
		{"new pod with init containers runs the first only", testPod(v1.RestartPolicyAlways, []string{"i1", "i2"}, "a"),
			obs(nil), "create-sandbox:0 init:i1#0"},
		{"init container running: wait", testPod(v1.RestartPolicyAlways, []string{"i1", "i2"}, "a"),
			obs(sb(readySandbox("sb1", 0)), ctr("i1", 0, "running", 1)), "-"},
		{"first init done: second", testPod(v1.RestartPolicyAlways, []string{"i1", "i2"}, "a"),
			obs(sb(readySandbox("sb1", 0)), ctr("i1", 0, "exit:0", 1)), "init:i2#0"},
		{"all init done: apps", testPod(v1.RestartPolicyAlways, []string{"i1", "i2"}, "a", "b"),
			obs(sb(readySandbox("sb1", 0)), ctr("i1", 0, "exit:0", 1), ctr("i2", 0, "exit:0", 3)), "start:a#0 start:b#0"},
		{"failed init under Never kills the pod", testPod(v1.RestartPolicyNever, []string{"i1", "i2"}, "a"),
			obs(sb(readySandbox("sb1", 0)), ctr("i1", 0, "exit:3", 1)), "stop-sandbox:sb1"},
		{"failed init under OnFailure restarts it", testPod(v1.RestartPolicyOnFailure, []string{"i1", "i2"}, "a"),
			obs(sb(readySandbox("sb1", 0)), ctr("i1", 0, "exit:0", 1), ctr("i2", 0, "exit:1", 3)), "init:i2#1"},
		{"failed init under Always behaves as OnFailure", testPod(v1.RestartPolicyAlways, []string{"i1"}, "a"),
			obs(sb(readySandbox("sb1", 0)), ctr("i1", 0, "exit:1", 1)), "init:i1#1"},
		{"without sidecars a created app container does not mean initialized (findNextInitContainerToRun)",
			testPod(v1.RestartPolicyAlways, []string{"i1", "i2"}, "a"),
			obs(sb(readySandbox("sb1", 0)), ctr("i1", 0, "exit:0", 1), ctr("i2", 0, "running", 2), ctr("a", 0, "created", 3)), "-"},
		{"running app container means initialized even without init records", testPod(v1.RestartPolicyAlways, []string{"i1"}, "a", "b"),
			obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "running", 1)), "start:b#0"},
		{"dead sandbox: kill, recreate, purge init records, restart init",
			testPod(v1.RestartPolicyAlways, []string{"i1"}, "a"),
			obs(sb(deadSandbox("sb1", 0)), ctr("i1", 0, "exit:0", 1), ctr("a", 0, "running", 3)),
			"kill:a/30s stop-sandbox:sb1 remove:1 create-sandbox:1 init:i1#1"},
		{"sandbox without IP is recreated", testPod(v1.RestartPolicyAlways, nil, "a"),
			obs(sb(noIP), ctr("a", 0, "running", 1)), "kill:a/30s stop-sandbox:sb1 create-sandbox:1 start:a#1"},
		{"two ready sandboxes: recreate", testPod(v1.RestartPolicyAlways, nil, "a"),
			obs(sb(readySandbox("sb1", 0), readySandbox("sb2", 1))), "stop-sandbox:sb2 stop-sandbox:sb1 create-sandbox:2 start:a#0"},
		{"Never: dead sandbox after containers ran is not recreated", testPod(v1.RestartPolicyNever, nil, "a"),
			obs(sb(deadSandbox("sb1", 0)), ctr("a", 0, "running", 1)), "kill:a/30s"},
		{"OnFailure: dead sandbox with all succeeded is not recreated", testPod(v1.RestartPolicyOnFailure, nil, "a"),
			obs(sb(deadSandbox("sb1", 0)), ctr("a", 0, "exit:0", 1)), "-"},
		{"OnFailure: new sandbox restarts only the failed", testPod(v1.RestartPolicyOnFailure, nil, "a", "b"),
			obs(sb(deadSandbox("sb1", 0)), ctr("a", 0, "exit:0", 1), ctr("b", 0, "exit:1", 1)), "stop-sandbox:sb1 create-sandbox:1 start:b#1"},
		{"running: nothing to do", testPod(v1.RestartPolicyAlways, nil, "a"),
			obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "running", 1)), "-"},
		{"Never exit 0: Succeeded, sandbox stopped", testPod(v1.RestartPolicyNever, nil, "a"),
			obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "exit:0", 1)), "stop-sandbox:sb1"},
		{"Never exit 1 with another running: keep going", testPod(v1.RestartPolicyNever, nil, "a", "b"),
			obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "exit:1", 1), ctr("b", 0, "running", 1)), "-"},
		{"OnFailure exit 0 is not restarted", testPod(v1.RestartPolicyOnFailure, nil, "a", "b"),
			obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "exit:0", 1), ctr("b", 0, "running", 1)), "-"},
		{"OnFailure exit 1 restarts", testPod(v1.RestartPolicyOnFailure, nil, "a"),
			obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "exit:1", 1)), "start:a#1"},
		{"Always exit 0 restarts", testPod(v1.RestartPolicyAlways, nil, "a"),
			obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "exit:0", 1)), "start:a#1"},
		{"created but never started: start a new instance", testPod(v1.RestartPolicyNever, nil, "a"),
			obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "created", 1)), "start:a#1"},
		{"unknown state: kill before restart", testPod(v1.RestartPolicyAlways, nil, "a"),
			obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "unknown", 1)), "kill:a/30s start:a#1"},
		{"old dead instances are pruned, the newest dead kept", testPod(v1.RestartPolicyAlways, nil, "a"),
			obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "exit:1", 1), ctr("a", 1, "exit:1", 2), ctr("a", 2, "running", 3)), "remove:1"},
		{"deletion kills with the deletion grace", deleted(testPod(v1.RestartPolicyAlways, nil, "a", "b"), 5),
			obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "running", 1), ctr("b", 0, "exit:0", 1)), "kill:a/5s stop-sandbox:sb1"},
		{"deletion with grace 0 still gives 1s", deleted(testPod(v1.RestartPolicyAlways, nil, "a"), 0),
			obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "running", 1)), "kill:a/1s stop-sandbox:sb1"},
		{"deleted and stopped: terminated", deleted(testPod(v1.RestartPolicyAlways, nil, "a"), 30),
			obs(sb(deadSandbox("sb1", 0)), ctr("a", 0, "exit:143", 1)), "terminated"},
		{"deleted with a lost container: kill it and terminate", deleted(testPod(v1.RestartPolicyAlways, nil, "a"), 30),
			obs(sb(deadSandbox("sb1", 0)), ctr("a", 0, "unknown", 1)), "kill:a/30s terminated"},
		{"deleted before anything ran: terminated", deleted(testPod(v1.RestartPolicyAlways, nil, "a"), 30),
			obs(nil), "terminated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := summary(Compute(tc.pod, tc.obs, t0.Add(time.Hour), nil))
			if got != tc.want {
				t.Errorf("plan = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestComputeKillsChangedAndUnhealthyContainers(t *testing.T) {
	pod := testPod(v1.RestartPolicyAlways, nil, "a")
	running := ctr("a", 0, "running", 1)
	running.Labels = map[string]string{LabelContainerHash: ContainerHash(&pod.Spec.Containers[0])}
	o := obs(sb(readySandbox("sb1", 0)), running)
	if got := summary(Compute(pod, o, t0, nil)); got != "-" {
		t.Fatalf("unchanged container touched: %s", got)
	}
	changed := pod.DeepCopy()
	changed.Spec.Containers[0].Image = "busybox:2"
	changed.Spec.RestartPolicy = v1.RestartPolicyNever
	p := Compute(changed, o, t0, nil)
	if summary(p) != "kill:a/30s start:a#1" || p.Kill[0].Message != "Container a definition changed, will be restarted" {
		t.Fatalf("image change: %s %q", summary(p), p.Kill[0].Message)
	}
	live := pod.DeepCopy()
	live.Spec.Containers[0].LivenessProbe = &v1.Probe{}
	o.Liveness = map[string]bool{running.ID: false}
	p = Compute(live, o, t0, nil)
	if summary(p) != "kill:a/30s start:a#1" || p.Kill[0].Message != "Container a failed liveness probe, will be restarted" {
		t.Fatalf("liveness: %s %q", summary(p), p.Kill[0].Message)
	}
	// Under Never the container is not restarted: with another container
	// still running, it alone is killed, for its probe; as the pod's last
	// running container, the pod is stopped (the kubelet's KillPod, which
	// replaces the probe's kill: "Stopping container", the pod's grace).
	live.Spec.RestartPolicy = v1.RestartPolicyNever
	two := live.DeepCopy()
	two.Spec.Containers = append(two.Spec.Containers, v1.Container{Name: "b", Image: "busybox"})
	o2 := obs(sb(readySandbox("sb1", 0)), running, ctr("b", 0, "running", 1))
	o2.Liveness = o.Liveness
	p = Compute(two, o2, t0, nil)
	if summary(p) != "kill:a/30s" || p.Kill[0].Message != "Container a failed liveness probe" || p.KillPod {
		t.Fatalf("liveness under Never, another container running: %s %q", summary(p), p.Kill[0].Message)
	}
	p = Compute(live, o, t0, nil)
	if summary(p) != "kill:a/30s stop-sandbox:sb1" || p.Kill[0].Message != "Stopping container a" || !p.KillPod {
		t.Fatalf("liveness under Never: %s %q", summary(p), p.Kill[0].Message)
	}
	// The probe's terminationGracePeriodSeconds replaces the pod's, as it
	// is (the stop signal's 2 s floor comes after preStop: StopGrace); a
	// startup probe failure kills likewise.
	for _, tc := range []struct {
		probeGrace *int64
		want       string
	}{{ptr(int64(5)), "kill:a/5s start:a#1"}, {ptr(int64(0)), "kill:a/0s start:a#1"}, {nil, "kill:a/30s start:a#1"}} {
		st := pod.DeepCopy()
		st.Spec.Containers[0].StartupProbe = &v1.Probe{TerminationGracePeriodSeconds: tc.probeGrace}
		o2 := obs(sb(readySandbox("sb1", 0)), running)
		o2.StartupFailed = map[string]bool{running.ID: false}
		p = Compute(st, o2, t0, nil)
		if summary(p) != tc.want || p.Kill[0].Message != "Container a failed startup probe, will be restarted" {
			t.Fatalf("startup probe grace %v: %s %q", tc.probeGrace, summary(p), p.Kill[0].Message)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestComputeDoesNotMutateInputs(t *testing.T) {
	pod := testPod(v1.RestartPolicyAlways, nil, "a")
	o := obs(sb(readySandbox("sb1", 0)), ctr("a", 0, "exit:1", 1))
	state := BackoffState{}
	p := Compute(pod, o, t0.Add(time.Hour), state)
	if len(state) != 0 {
		t.Fatalf("backoff state mutated: %v", state)
	}
	if len(p.Backoff) != 1 {
		t.Fatalf("want one back-off update, got %v", p.Backoff)
	}
}

// TestCrashLoopBackOff walks a container that exits at once under Always
// through the back-off windows 10, 20, 40, 80, 160, 300, 300 s.
func TestCrashLoopBackOff(t *testing.T) {
	pod := testPod(v1.RestartPolicyAlways, nil, "a")
	state := BackoffState{}
	now := t0
	var instances []*runtime.ContainerStatus
	exitAt := func(attempt uint32, at time.Time) {
		c := ctr("a", attempt, "exit:1", 0)
		c.CreatedAt, c.StartedAt, c.FinishedAt = at, at, at
		instances = append(instances, c)
	}
	exitAt(0, now)
	var windows []time.Duration
	for attempt := uint32(1); attempt <= 7; attempt++ {
		// Find the first second at which the restart is allowed.
		start := now
		for {
			o := obs(sb(readySandbox("sb1", 0)), instances...)
			p := Compute(pod, o, now, state)
			if len(p.Start) == 1 {
				if p.Start[0].Attempt != attempt {
					t.Fatalf("attempt = %d, want %d", p.Start[0].Attempt, attempt)
				}
				state = state.Apply(p.Backoff)
				break
			}
			e := p.StartErrors["a"]
			if e.Reason != ReasonCrashLoopBackOff {
				t.Fatalf("held without CrashLoopBackOff: %+v", p)
			}
			if !strings.HasPrefix(e.Message, "back-off ") || !strings.HasSuffix(e.Message, " restarting failed container=a pod=web_default(uid1)") {
				t.Fatalf("message = %q", e.Message)
			}
			now = now.Add(time.Second)
		}
		windows = append(windows, now.Sub(start))
		exitAt(attempt, now) // exits right away again
	}
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 300 * time.Second}
	for i := range want {
		if windows[i] != want[i] {
			t.Fatalf("windows = %v, want %v", windows, want)
		}
	}
	// One more: still capped at 300 s.
	o := obs(sb(readySandbox("sb1", 0)), instances...)
	p := Compute(pod, o, now.Add(299*time.Second), state)
	if got := p.StartErrors["a"].Message; !strings.HasPrefix(got, "back-off 5m0s ") {
		t.Fatalf("message = %q", got)
	}
	if len(Compute(pod, o, now.Add(300*time.Second), state).Start) != 1 {
		t.Fatal("not restarted after 300 s")
	}
}

func TestBackoffResetsAfterTenMinutes(t *testing.T) {
	key := "k"
	s := BackoffState{key: {Backoff: 160 * time.Second, LastUpdate: t0}}
	// An exit within 10 minutes of the last update doubles it.
	if got := s.Next(key, t0.Add(5*time.Minute), t0.Add(5*time.Minute)).Backoff; got != 300*time.Second {
		t.Fatalf("next = %v, want 5m0s", got)
	}
	// A container that ran more than 10 minutes before exiting starts fresh.
	exit := t0.Add(10*time.Minute + time.Second)
	if in, _ := s.InBackoffSince(key, exit, exit); in {
		t.Fatal("still in back-off after 10 minutes")
	}
	if got := s.Next(key, exit, exit).Backoff; got != InitialBackoff {
		t.Fatalf("next = %v, want %v", got, InitialBackoff)
	}
	if len(s.GC(exit)) != 0 {
		t.Fatal("GC kept an expired entry")
	}
}

func TestImagePullBackOff(t *testing.T) {
	pod := testPod(v1.RestartPolicyAlways, nil, "a")
	o := obs(sb(readySandbox("sb1", 0)))
	o.StartErrors = map[string]StartError{"a": {Reason: ReasonErrImagePull, Message: "not found", At: t0}}
	state := BackoffState{PullBackoffKey(pod, "busybox"): {Backoff: 10 * time.Second, LastUpdate: t0}}
	p := Compute(pod, o, t0.Add(5*time.Second), state)
	if summary(p) != "wait:a=ImagePullBackOff" || p.StartErrors["a"].Message != `Back-off pulling image "busybox": ErrImagePull: not found` {
		t.Fatalf("plan = %s %+v", summary(p), p.StartErrors)
	}
	// The back-off keeps naming the pull error.
	o.StartErrors = p.StartErrors
	if p2 := Compute(pod, o, t0.Add(6*time.Second), state); p2.StartErrors["a"].Message != p.StartErrors["a"].Message {
		t.Fatalf("second back-off message %q", p2.StartErrors["a"].Message)
	}
	if got := summary(Compute(pod, o, t0.Add(10*time.Second), state)); got != "start:a#0" {
		t.Fatalf("after the window: %s", got)
	}
}

func TestStartErrorRetryDelay(t *testing.T) {
	pod := testPod(v1.RestartPolicyNever, nil, "a")
	o := obs(sb(readySandbox("sb1", 0)))
	o.StartErrors = map[string]StartError{"a": {Reason: ReasonCreateContainerError, Message: "boom", At: t0}}
	if got := summary(Compute(pod, o, t0.Add(time.Second), nil)); got != "-" {
		t.Fatalf("retried at once: %s", got)
	}
	if got := summary(Compute(pod, o, t0.Add(RetryDelay), nil)); got != "start:a#0" {
		t.Fatalf("not retried after the delay: %s", got)
	}
}

func TestAttemptsSurviveRemoval(t *testing.T) {
	pod := testPod(v1.RestartPolicyAlways, []string{"i1"}, "a")
	o := obs(nil)
	o.Attempts = map[string]uint32{"i1": 4}
	p := Compute(pod, o, t0, nil)
	if len(p.StartInits) != 1 || p.StartInits[0].Attempt != 5 {
		t.Fatalf("plan = %s", summary(p))
	}
}

func TestPodGrace(t *testing.T) {
	pod := testPod(v1.RestartPolicyAlways, nil, "a")
	pod.Spec.TerminationGracePeriodSeconds = nil
	if PodGrace(pod) != 30*time.Second {
		t.Fatal("default grace is not 30 s")
	}
	zero := int64(0)
	pod.Spec.TerminationGracePeriodSeconds = &zero
	// A deleting pod's grace is at least 1 s (calculateEffectiveGracePeriod);
	// a container killed otherwise has the spec's 0, so no preStop runs
	// (setTerminationGracePeriod); either way the stop signal then gets
	// at least 2 s (killContainer's minimumGracePeriodInSeconds).
	if PodGrace(pod) != time.Second || killGrace(pod, true) != time.Second || killGrace(pod, false) != 0 {
		t.Fatalf("grace 0: pod %v, deleting %v, container %v", PodGrace(pod), killGrace(pod, true), killGrace(pod, false))
	}
	for _, tc := range []struct{ left, want time.Duration }{
		{-time.Second, 2 * time.Second}, {0, 2 * time.Second}, {time.Second, 2 * time.Second},
		{2 * time.Second, 2 * time.Second}, {25 * time.Second, 25 * time.Second},
	} {
		if got := StopGrace(tc.left); got != tc.want {
			t.Errorf("StopGrace(%v) = %v, want %v", tc.left, got, tc.want)
		}
	}
}
