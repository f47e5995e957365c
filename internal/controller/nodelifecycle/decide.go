// Package nodelifecycle marks nodes whose agent stopped reporting: when a
// node's Lease (kube-node-lease) and its Ready heartbeat are both older
// than the grace period, its conditions become Unknown, it gets the
// node.kubernetes.io/unreachable:NoSchedule taint, and every non-terminal
// pod bound to it gets phase Unknown, reason NodeLost, Ready=False
// (peapod's deliberate difference from kube, which leaves the phase; see
// SEMANTICS.md). Pods are never moved. When the agent reports again its
// status replaces this, and the taint goes once Ready is no longer Unknown.
package nodelifecycle

import (
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Kubernetes' names and wording.
const (
	TaintUnreachable  = "node.kubernetes.io/unreachable"
	ReasonUnknown     = "NodeStatusUnknown"
	MessageUnknown    = "Kubelet stopped posting node status."
	ReasonNeverPosted = "NodeStatusNeverUpdated"
	MessageNever      = "Kubelet never posted node status."
	ReasonNodeLost    = "NodeLost"
	LeaseNamespace    = corev1.NamespaceNodeLease
)

// watchedConditions are set to Unknown when the node goes silent.
var watchedConditions = []corev1.NodeConditionType{corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure}

// LastHeartbeat is the newest of the lease's renewTime and the Ready
// condition's lastHeartbeatTime; ok is false when the node never
// reported either.
func LastHeartbeat(node *corev1.Node, lease *coordinationv1.Lease) (t time.Time, ok bool) {
	if lease != nil && lease.Spec.RenewTime != nil {
		t, ok = lease.Spec.RenewTime.Time, true
	}
	if c := condition(node, corev1.NodeReady); c != nil && !c.LastHeartbeatTime.IsZero() && c.LastHeartbeatTime.After(t) {
		t, ok = c.LastHeartbeatTime.Time, true
	}
	return t, ok
}

// NodeDecision is what to do with one node.
type NodeDecision struct {
	// Conditions, when non-nil, replace status.conditions (nodes/status).
	Conditions []corev1.NodeCondition
	AddTaint   bool
	// RemoveTaint: Ready is back (True or False): drop unreachable.
	RemoveTaint bool
	// Lost: the node is silent; its non-terminal pods become Unknown.
	Lost bool
}

// DecideNode judges one node at now. A node that never reported counts
// from its creation.
func DecideNode(node *corev1.Node, lease *coordinationv1.Lease, now time.Time, grace time.Duration) NodeDecision {
	var d NodeDecision
	hb, reported := LastHeartbeat(node, lease)
	if !reported {
		hb = node.CreationTimestamp.Time
	}
	tainted := hasTaint(node)
	if now.Sub(hb) <= grace {
		if ready := condition(node, corev1.NodeReady); tainted && ready != nil && ready.Status != corev1.ConditionUnknown {
			d.RemoveTaint = true
		}
		return d
	}
	d.Lost = true
	d.AddTaint = !tainted
	reason, msg := ReasonUnknown, MessageUnknown
	if !reported {
		reason, msg = ReasonNeverPosted, MessageNever
	}
	conds := append([]corev1.NodeCondition(nil), node.Status.Conditions...)
	changed := false
	for _, t := range watchedConditions {
		i := -1
		for j := range conds {
			if conds[j].Type == t {
				i = j
			}
		}
		if i < 0 {
			conds = append(conds, corev1.NodeCondition{Type: t, Status: corev1.ConditionUnknown, Reason: reason, Message: msg,
				LastHeartbeatTime: node.CreationTimestamp, LastTransitionTime: metav1.NewTime(now)})
			changed = true
			continue
		}
		if conds[i].Status == corev1.ConditionUnknown {
			continue
		}
		conds[i].Status, conds[i].Reason, conds[i].Message = corev1.ConditionUnknown, reason, msg
		conds[i].LastTransitionTime = metav1.NewTime(now)
		changed = true
	}
	if changed {
		d.Conditions = conds
	}
	return d
}

// DecidePod is the status a pod on a lost node gets (nil: leave it):
// phase Unknown, reason NodeLost, Ready=False. Terminal pods keep theirs.
func DecidePod(pod *corev1.Pod, now time.Time) *corev1.PodStatus {
	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed:
		return nil
	}
	msg := fmt.Sprintf("Node %s which was running pod %s is unresponsive", pod.Spec.NodeName, pod.Name)
	st := pod.Status.DeepCopy()
	changed := st.Phase != corev1.PodUnknown || st.Reason != ReasonNodeLost || st.Message != msg
	st.Phase, st.Reason, st.Message = corev1.PodUnknown, ReasonNodeLost, msg
	found := false
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type != corev1.PodReady {
			continue
		}
		found = true
		if c.Status != corev1.ConditionFalse {
			c.Status, c.Reason, c.Message = corev1.ConditionFalse, ReasonNodeLost, ""
			c.LastTransitionTime = metav1.NewTime(now)
			changed = true
		}
	}
	if !found {
		st.Conditions = append(st.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: ReasonNodeLost, LastTransitionTime: metav1.NewTime(now)})
		changed = true
	}
	if !changed {
		return nil
	}
	return st
}

// TaintsWith adds unreachable:NoSchedule (once); TaintsWithout drops it.
func TaintsWith(ts []corev1.Taint, now time.Time) []corev1.Taint {
	for _, t := range ts {
		if t.Key == TaintUnreachable && t.Effect == corev1.TaintEffectNoSchedule {
			return ts
		}
	}
	added := metav1.NewTime(now)
	return append(append([]corev1.Taint(nil), ts...), corev1.Taint{Key: TaintUnreachable, Effect: corev1.TaintEffectNoSchedule, TimeAdded: &added})
}

// TaintsWithout drops the unreachable taint (any effect).
func TaintsWithout(ts []corev1.Taint) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range ts {
		if t.Key != TaintUnreachable {
			out = append(out, t)
		}
	}
	return out
}

func hasTaint(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == TaintUnreachable {
			return true
		}
	}
	return false
}

func condition(n *corev1.Node, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == t {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}
