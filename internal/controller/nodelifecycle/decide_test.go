package nodelifecycle

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func at(s int) metav1.Time { return metav1.NewTime(t0.Add(time.Duration(s) * time.Second)) }

func node(ready corev1.ConditionStatus, heartbeat int, tainted bool) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: at(-1000)}}
	if ready != "" {
		pressure := corev1.ConditionFalse
		if ready == corev1.ConditionUnknown {
			pressure = corev1.ConditionUnknown
		}
		n.Status.Conditions = []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: ready, Reason: "KubeletReady", LastHeartbeatTime: at(heartbeat), LastTransitionTime: at(-500)},
			{Type: corev1.NodeMemoryPressure, Status: pressure, LastHeartbeatTime: at(heartbeat)},
			{Type: corev1.NodeDiskPressure, Status: pressure, LastHeartbeatTime: at(heartbeat)},
			{Type: corev1.NodePIDPressure, Status: pressure, LastHeartbeatTime: at(heartbeat)},
		}
	}
	if tainted {
		n.Spec.Taints = []corev1.Taint{{Key: TaintUnreachable, Effect: corev1.TaintEffectNoSchedule}}
	}
	return n
}

func lease(renew int) *coordinationv1.Lease {
	rt := metav1.NewMicroTime(t0.Add(time.Duration(renew) * time.Second))
	return &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{RenewTime: &rt}}
}

func TestDecideNode(t *testing.T) {
	const grace = 40 * time.Second
	tests := []struct {
		name       string
		node       *corev1.Node
		lease      *coordinationv1.Lease
		now        int
		lost       bool
		addTaint   bool
		rmTaint    bool
		wantReason string // of Ready when conditions change; "" = no change
	}{
		{name: "fresh lease and status", node: node(corev1.ConditionTrue, 0, false), lease: lease(0), now: 10},
		{name: "old status, fresh lease", node: node(corev1.ConditionTrue, -300, false), lease: lease(5), now: 10},
		{name: "old lease, fresh status", node: node(corev1.ConditionTrue, 5, false), lease: lease(-300), now: 10},
		{name: "exactly at grace is still fine", node: node(corev1.ConditionTrue, 0, false), lease: lease(0), now: 40},
		{name: "both stale", node: node(corev1.ConditionTrue, 0, false), lease: lease(0), now: 41, lost: true, addTaint: true, wantReason: ReasonUnknown},
		{name: "stale without lease", node: node(corev1.ConditionTrue, 0, false), now: 100, lost: true, addTaint: true, wantReason: ReasonUnknown},
		{name: "stale, already unknown and tainted: only pods", node: node(corev1.ConditionUnknown, 0, true), lease: lease(0), now: 100, lost: true},
		{name: "never reported, young", node: node("", 0, false), now: -990},
		{name: "never reported, old", node: node("", 0, false), now: 0, lost: true, addTaint: true, wantReason: ReasonNeverPosted},
		{name: "back: ready true removes taint", node: node(corev1.ConditionTrue, 0, true), lease: lease(0), now: 5, rmTaint: true},
		{name: "back: ready false removes taint too", node: node(corev1.ConditionFalse, 0, true), lease: lease(0), now: 5, rmTaint: true},
		{name: "lease renewed but status still unknown keeps taint", node: node(corev1.ConditionUnknown, -100, true), lease: lease(0), now: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0.Add(time.Duration(tt.now) * time.Second)
			d := DecideNode(tt.node, tt.lease, now, grace)
			if d.Lost != tt.lost || d.AddTaint != tt.addTaint || d.RemoveTaint != tt.rmTaint {
				t.Fatalf("got lost=%v add=%v rm=%v, want %v %v %v", d.Lost, d.AddTaint, d.RemoveTaint, tt.lost, tt.addTaint, tt.rmTaint)
			}
			if tt.wantReason == "" {
				if d.Conditions != nil {
					t.Fatalf("unexpected condition change: %+v", d.Conditions)
				}
				return
			}
			seen := map[corev1.NodeConditionType]bool{}
			for _, c := range d.Conditions {
				seen[c.Type] = true
				if c.Status != corev1.ConditionUnknown || c.Reason != tt.wantReason {
					t.Errorf("%s: %s/%s, want Unknown/%s", c.Type, c.Status, c.Reason, tt.wantReason)
				}
				if c.LastTransitionTime.Time != now {
					t.Errorf("%s: transition %v, want now", c.Type, c.LastTransitionTime)
				}
			}
			for _, typ := range watchedConditions {
				if !seen[typ] {
					t.Errorf("condition %s missing", typ)
				}
			}
			if tt.wantReason == ReasonUnknown && d.Conditions[0].Message != "Kubelet stopped posting node status." {
				t.Errorf("message %q", d.Conditions[0].Message)
			}
			// The input is not modified.
			if c := tt.node.Status.Conditions; len(c) > 0 && c[0].Status == corev1.ConditionUnknown && tt.node.Status.Conditions[0].Reason != "KubeletReady" {
				t.Error("input node modified")
			}
		})
	}
}

func TestDecidePod(t *testing.T) {
	now := t0
	running := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{NodeName: "n1"},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
	st := DecidePod(running, now)
	if st == nil || st.Phase != corev1.PodUnknown || st.Reason != ReasonNodeLost || st.Message != "Node n1 which was running pod p is unresponsive" {
		t.Fatalf("running pod: %+v", st)
	}
	if st.Conditions[0].Status != corev1.ConditionFalse || st.Conditions[0].LastTransitionTime.Time != now {
		t.Fatalf("ready: %+v", st.Conditions)
	}
	if running.Status.Phase != corev1.PodRunning {
		t.Fatal("input modified")
	}
	done := running.DeepCopy()
	done.Status = *st
	if again := DecidePod(done, now.Add(time.Minute)); again != nil {
		t.Fatalf("already lost pod updated again: %+v", again)
	}
	pending := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "q"}, Spec: corev1.PodSpec{NodeName: "n1"}, Status: corev1.PodStatus{Phase: corev1.PodPending}}
	if st := DecidePod(pending, now); st == nil || len(st.Conditions) != 1 || st.Conditions[0].Type != corev1.PodReady || st.Conditions[0].Status != corev1.ConditionFalse {
		t.Fatalf("pending pod without conditions: %+v", st)
	}
	for _, ph := range []corev1.PodPhase{corev1.PodSucceeded, corev1.PodFailed} {
		p := running.DeepCopy()
		p.Status.Phase = ph
		if st := DecidePod(p, now); st != nil {
			t.Errorf("%s pod changed: %+v", ph, st)
		}
	}
}

func TestTaints(t *testing.T) {
	other := corev1.Taint{Key: "x", Effect: corev1.TaintEffectNoExecute}
	ts := TaintsWith([]corev1.Taint{other}, t0)
	if len(ts) != 2 || ts[1].Key != TaintUnreachable || ts[1].Effect != corev1.TaintEffectNoSchedule || ts[1].TimeAdded == nil {
		t.Fatalf("with: %+v", ts)
	}
	if again := TaintsWith(ts, t0); len(again) != 2 {
		t.Fatalf("added twice: %+v", again)
	}
	if back := TaintsWithout(ts); len(back) != 1 || back[0] != other {
		t.Fatalf("without: %+v", back)
	}
}
