package fit

import (
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// Reasons as kube-scheduler 1.33 words them (the plugin that rejects a
// node gives them; the FailedScheduling message counts them).
const (
	ReasonUnschedulable    = "node(s) were unschedulable"
	ReasonNodeSelector     = "node(s) didn't match Pod's node affinity/selector"
	ReasonHostPorts        = "node(s) didn't have free ports for the requested pod ports"
	ReasonTooManyPods      = "Too many pods"
	reasonUntoleratedTaint = "node(s) had untolerated taint {%s: %s}"
	reasonInsufficient     = "Insufficient %s"
)

// Status is the verdict of the filters on one node: no reasons means the
// pod fits. Unresolvable is kube's UnschedulableAndUnresolvable: evicting
// pods from the node (preemption) would not help.
type Status struct {
	Reasons      []string
	Unresolvable bool
}

// Fits reports whether the node passed.
func (s Status) Fits() bool { return len(s.Reasons) == 0 }

// Filter runs the filters in kube-scheduler's order (NodeUnschedulable,
// TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit) and returns
// the first rejection, as kube does.
func Filter(p *Pod, n *Node) Status {
	for _, f := range filters {
		if s := f(p, n); !s.Fits() {
			return s
		}
	}
	return Status{}
}

var filters = []func(*Pod, *Node) Status{Unschedulable, Taints, NodeAffinity, HostPorts, Resources}

// Unschedulable rejects a node with spec.unschedulable (kubectl cordon)
// unless the pod tolerates the node.kubernetes.io/unschedulable:NoSchedule
// taint.
func Unschedulable(p *Pod, n *Node) Status {
	if !n.Node.Spec.Unschedulable {
		return Status{}
	}
	t := corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}
	if tolerated(p.Pod.Spec.Tolerations, &t) {
		return Status{}
	}
	return Status{Reasons: []string{ReasonUnschedulable}, Unresolvable: true}
}

// Taints rejects a node with a NoSchedule or NoExecute taint the pod does
// not tolerate (PreferNoSchedule only affects scoring in kube, and is
// ignored here). The reason names the first such taint.
func Taints(p *Pod, n *Node) Status {
	for i := range n.Taints {
		t := &n.Taints[i]
		if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		if !tolerated(p.Pod.Spec.Tolerations, t) {
			return Status{Reasons: []string{fmt.Sprintf(reasonUntoleratedTaint, t.Key, t.Value)}, Unresolvable: true}
		}
	}
	return Status{}
}

func tolerated(tols []corev1.Toleration, t *corev1.Taint) bool {
	for i := range tols {
		if tols[i].ToleratesTaint(t) {
			return true
		}
	}
	return false
}

// NodeAffinity rejects a node whose labels do not match the pod's
// nodeSelector (every key present with an exactly equal value) or its
// required node affinity.
func NodeAffinity(p *Pod, n *Node) Status {
	labels := n.Node.Labels
	for k, v := range p.Pod.Spec.NodeSelector {
		if got, ok := labels[k]; !ok || got != v {
			return Status{Reasons: []string{ReasonNodeSelector}, Unresolvable: true}
		}
	}
	if a := p.Pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		if !MatchNodeSelector(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution, n.Node) {
			return Status{Reasons: []string{ReasonNodeSelector}, Unresolvable: true}
		}
	}
	return Status{}
}

// HostPorts rejects a node where a host port the pod asks for is taken.
func HostPorts(p *Pod, n *Node) Status {
	for _, hp := range p.Ports {
		if portConflict(n.UsedPorts, hp) {
			return Status{Reasons: []string{ReasonHostPorts}}
		}
	}
	return Status{}
}

// Resources rejects a node that is full: one reason for the pod count and
// for each resource whose request exceeds allocatable minus what the
// node's pods request, as kube's NodeResourcesFit.
func Resources(p *Pod, n *Node) Status {
	var reasons []string
	if int64(n.Pods)+1 > n.AllowedPods {
		reasons = append(reasons, ReasonTooManyPods)
	}
	r := p.Requests
	if r.MilliCPU > 0 && r.MilliCPU > n.Allocatable.MilliCPU-n.Requested.MilliCPU {
		reasons = append(reasons, fmt.Sprintf(reasonInsufficient, corev1.ResourceCPU))
	}
	if r.Memory > 0 && r.Memory > n.Allocatable.Memory-n.Requested.Memory {
		reasons = append(reasons, fmt.Sprintf(reasonInsufficient, corev1.ResourceMemory))
	}
	if r.EphemeralStorage > 0 && r.EphemeralStorage > n.Allocatable.EphemeralStorage-n.Requested.EphemeralStorage {
		reasons = append(reasons, fmt.Sprintf(reasonInsufficient, corev1.ResourceEphemeralStorage))
	}
	if len(r.Scalar) > 0 {
		reasons = scalarReasons(reasons, r.Scalar, n)
	}
	if len(reasons) == 0 {
		return Status{}
	}
	return Status{Reasons: reasons}
}

func scalarReasons(reasons []string, want map[corev1.ResourceName]int64, n *Node) []string {
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if v := want[name]; v > 0 && v > n.Allocatable.Scalar[name]-n.Requested.Scalar[name] {
			reasons = append(reasons, fmt.Sprintf(reasonInsufficient, name))
		}
	}
	return reasons
}
