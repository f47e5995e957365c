package plan

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// Ephemeral containers (kubectl debug) as the kubelet's computePodActions:
// started once the sandbox exists, even during initialization, with the
// newest instance of their target; never restarted; not started by a pod
// that is being stopped; reported in ephemeralContainerStatuses without
// counting for the phase.
func TestComputeEphemeral(t *testing.T) {
	pod := testPod(v1.RestartPolicyAlways, []string{"i1"}, "app")
	pod.Spec.EphemeralContainers = []v1.EphemeralContainer{{
		EphemeralContainerCommon: v1.EphemeralContainerCommon{Name: "dbg", Image: "busybox"},
		TargetContainerName:      "app",
	}}
	app := ctr("app", 0, "running", 2)
	o := obs(sb(readySandbox("sb1", 0)), ctr("i1", 0, "exit:0", 1), app)
	p := Compute(pod, o, t0, nil)
	if len(p.StartEphemeral) != 1 || p.StartEphemeral[0].Name != "dbg" || p.StartEphemeral[0].TargetID != app.ID || !p.StartEphemeral[0].Ephemeral {
		t.Fatalf("start %+v", p.StartEphemeral)
	}
	// During initialization too.
	if p := Compute(pod, obs(sb(readySandbox("sb1", 0)), ctr("i1", 0, "running", 1)), t0, nil); len(p.StartEphemeral) != 1 || p.StartEphemeral[0].TargetID != "" {
		t.Fatalf("during init %+v", p.StartEphemeral)
	}
	// Exited: not restarted, and it does not keep the pod alive or count
	// for the phase.
	exited := obs(sb(readySandbox("sb1", 0)), ctr("i1", 0, "exit:0", 1), app, ctr("dbg", 0, "exit:0", 3))
	if p := Compute(pod, exited, t0, nil); !p.Empty() {
		t.Fatalf("exited debugger: %s", summary(p))
	}
	s := GenerateStatus(pod, exited, t0.Add(time.Minute))
	if len(s.EphemeralContainerStatuses) != 1 || s.EphemeralContainerStatuses[0].State.Terminated == nil || s.Phase != v1.PodRunning {
		t.Fatalf("status %+v %s", s.EphemeralContainerStatuses, s.Phase)
	}
	if FieldPath(pod, "dbg") != "spec.ephemeralContainers{dbg}" {
		t.Fatal(FieldPath(pod, "dbg"))
	}
	// A pod whose app containers are done stops; no debugger starts.
	never := pod.DeepCopy()
	never.Spec.RestartPolicy = v1.RestartPolicyNever
	done := obs(sb(readySandbox("sb1", 0)), ctr("i1", 0, "exit:0", 1), ctr("app", 0, "exit:0", 2))
	if p := Compute(never, done, t0, nil); len(p.StartEphemeral) != 0 || !p.KillPod {
		t.Fatalf("finished pod: %s %+v", summary(p), p.StartEphemeral)
	}
}
