package scheduler

import (
	"math/rand/v2"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peapod/peapod/internal/scheduler/fit"
)

func TestCacheAccounting(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	c := newNodeCache()
	c.setNode(node("n1", nil, "2"))
	requested := func(name string) int64 { return c.nodes[name].Requested.MilliCPU }

	// A pod bound before its node is known is kept in a placeholder.
	early := pod("early", cpuRequest("500m"))
	early.Spec.NodeName = "n2"
	c.setPod(early)
	if len(c.order) != 1 || requested("n2") != 500 {
		t.Fatalf("placeholder: order %d, n2 requested %d", len(c.order), requested("n2"))
	}
	c.setNode(node("n2", nil, "2"))
	if len(c.order) != 2 || requested("n2") != 500 {
		t.Fatalf("node joined: order %d, n2 requested %d", len(c.order), requested("n2"))
	}

	// schedule assumes; the informer's copy replaces the assumed one.
	a := pod("a", cpuRequest("1"))
	_, res := c.schedule(fit.NewPod(a), 0, rng)
	if res.Node != "n1" { // n2 has 500m already
		t.Fatalf("scheduled on %q", res.Node)
	}
	if !c.isAssigned(a.UID) || requested("n1") != 1000 {
		t.Fatalf("assumed: %v, n1 requested %d", c.isAssigned(a.UID), requested("n1"))
	}
	bound := a.DeepCopy()
	bound.Spec.NodeName = "n1"
	c.setPod(bound)
	c.forget(a.UID) // a late binding failure must not drop a confirmed pod
	if requested("n1") != 1000 || !c.isAssigned(a.UID) {
		t.Fatalf("confirmed pod counted %d", requested("n1"))
	}

	// A failed binding undoes the assumption.
	b := pod("b", cpuRequest("1"))
	_, res = c.schedule(fit.NewPod(b), 0, rng)
	c.forget(b.UID)
	if requested(res.Node) != map[string]int64{"n1": 1000, "n2": 500}[res.Node] || c.isAssigned(b.UID) {
		t.Fatalf("after forget: %s requested %d", res.Node, requested(res.Node))
	}

	// A finished pod frees its node; a deleted one too.
	done := bound.DeepCopy()
	done.Status.Phase = corev1.PodSucceeded
	c.setPod(done)
	if requested("n1") != 0 || c.isAssigned(a.UID) {
		t.Fatalf("terminal pod still counted: %d", requested("n1"))
	}
	c.removePod(early.UID)
	if requested("n2") != 0 {
		t.Fatalf("deleted pod still counted: %d", requested("n2"))
	}

	// Deleting a node drops it from the order; the rest still schedule.
	c.deleteNode("n1")
	if len(c.order) != 1 || c.order[0].Name() != "n2" || c.index["n2"] != 0 {
		t.Fatalf("order after delete: %v %v", len(c.order), c.index)
	}
	if n, res := c.schedule(fit.NewPod(pod("x", nil)), 0, rng); n != 1 || res.Node != "n2" {
		t.Fatalf("after delete: %d nodes, on %q", n, res.Node)
	}
}

func TestScheduledFalsePatch(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 10, 500, time.UTC)
	earlier := metav1.NewTime(now.Add(-time.Minute))
	withCond := func(status corev1.ConditionStatus, reason, msg string) *corev1.Pod {
		p := pod("p", nil)
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: status, Reason: reason, Message: msg, LastTransitionTime: earlier}}
		return p
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string // "" for no patch
	}{
		{"no condition yet", pod("p", nil),
			`{"status":{"conditions":[{"type":"PodScheduled","status":"False","lastProbeTime":null,"lastTransitionTime":"2026-01-01T00:00:10Z","reason":"Unschedulable","message":"m"}]}}`},
		{"same condition: nothing to write", withCond(corev1.ConditionFalse, "Unschedulable", "m"), ""},
		{"new message keeps the transition time", withCond(corev1.ConditionFalse, "Unschedulable", "old"),
			`{"status":{"conditions":[{"type":"PodScheduled","status":"False","lastProbeTime":null,"lastTransitionTime":"2025-12-31T23:59:10Z","reason":"Unschedulable","message":"m"}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			patch, ok := scheduledFalsePatch(tt.pod, corev1.PodReasonUnschedulable, "m", now)
			if tt.want == "" {
				if ok {
					t.Fatalf("unexpected patch %s", patch)
				}
				return
			}
			if !ok || string(patch) != tt.want {
				t.Fatalf("patch %s (%v)\nwant  %s", patch, ok, tt.want)
			}
		})
	}
}

func TestSchedulingPropertiesChanged(t *testing.T) {
	base := node("n", map[string]string{"a": "b"}, "4")
	heartbeat := base.DeepCopy()
	heartbeat.Status.Conditions[0].LastHeartbeatTime = metav1.Now()
	heartbeat.ResourceVersion = "7"
	if schedulingPropertiesChanged(base, heartbeat) {
		t.Error("a heartbeat retried pending pods")
	}
	for name, mut := range map[string]func(*corev1.Node){
		"labels":        func(n *corev1.Node) { n.Labels["disktype"] = "ssd" },
		"taints":        func(n *corev1.Node) { n.Spec.Taints = []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}} },
		"unschedulable": func(n *corev1.Node) { n.Spec.Unschedulable = true },
		"allocatable":   func(n *corev1.Node) { n.Status.Allocatable = node("n", nil, "8").Status.Allocatable },
		"ready":         func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse },
		"memory pressure": func(n *corev1.Node) {
			n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionTrue})
		},
	} {
		n := base.DeepCopy()
		mut(n)
		if !schedulingPropertiesChanged(base, n) {
			t.Errorf("%s change not noticed", name)
		}
	}
}
