package fit

import (
	corev1 "k8s.io/api/core/v1"
)

// Pod is a pod with what the filters need computed once.
type Pod struct {
	Pod      *corev1.Pod
	Requests Resource
	NonZero  Resource
	Ports    []HostPort
}

// NewPod precomputes a pod's requests and host ports.
func NewPod(p *corev1.Pod) *Pod {
	return &Pod{Pod: p, Requests: PodRequests(p), NonZero: PodNonZeroRequests(p), Ports: PodHostPorts(p)}
}

// Node is a node with the sum of the pods assigned to it (bound or
// assumed). It is not safe for concurrent use; its owner serializes
// access.
type Node struct {
	Node        *corev1.Node
	Allocatable Resource
	AllowedPods int64
	// Taints are the node's taints plus the ones the node lifecycle
	// controller would add for its conditions (see ConditionTaints).
	Taints []corev1.Taint

	Requested        Resource
	NonZeroRequested Resource
	Pods             int
	UsedPorts        map[HostPort]int
}

// NewNode returns a Node with no pods.
func NewNode(n *corev1.Node) *Node {
	ni := &Node{}
	ni.SetNode(n)
	return ni
}

// SetNode replaces the node object, keeping the pods.
func (n *Node) SetNode(node *corev1.Node) {
	n.Node = node
	n.Allocatable = NewResource(node.Status.Allocatable)
	n.AllowedPods = 0
	if q, ok := node.Status.Allocatable[corev1.ResourcePods]; ok {
		n.AllowedPods = q.Value()
	}
	n.Taints = append(append([]corev1.Taint(nil), node.Spec.Taints...), ConditionTaints(node)...)
}

// Name is the node's name.
func (n *Node) Name() string { return n.Node.Name }

// AddPod accounts a pod assigned to the node.
func (n *Node) AddPod(p *Pod) { n.update(p, 1) }

// RemovePod stops accounting a pod.
func (n *Node) RemovePod(p *Pod) { n.update(p, -1) }

func (n *Node) update(p *Pod, sign int64) {
	n.Requested.add(p.Requests, sign)
	n.NonZeroRequested.add(p.NonZero, sign)
	n.Pods += int(sign)
	for _, hp := range p.Ports {
		if n.UsedPorts == nil {
			n.UsedPorts = map[HostPort]int{}
		}
		n.UsedPorts[hp] += int(sign)
		if n.UsedPorts[hp] <= 0 {
			delete(n.UsedPorts, hp)
		}
	}
}

// ConditionTaints are the NoSchedule taints the node lifecycle controller
// puts on a node for its conditions (Kubernetes' TaintNodesByCondition),
// unless the node already carries them: node.kubernetes.io/not-ready when
// Ready is False or missing, node.kubernetes.io/unreachable when it is
// Unknown, and node.kubernetes.io/memory-pressure, disk-pressure,
// pid-pressure and network-unavailable when those conditions are True.
// The scheduler treats them as present so that such a node gets no pods
// (unless they tolerate the taint) even before a controller taints it,
// and the message is the one Kubernetes prints.
func ConditionTaints(node *corev1.Node) []corev1.Taint {
	var keys []string
	ready := corev1.TaintNodeNotReady
	for _, c := range node.Status.Conditions {
		switch {
		case c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue:
			ready = ""
		case c.Type == corev1.NodeReady && c.Status == corev1.ConditionUnknown:
			ready = corev1.TaintNodeUnreachable
		case c.Status != corev1.ConditionTrue:
		case c.Type == corev1.NodeMemoryPressure:
			keys = append(keys, corev1.TaintNodeMemoryPressure)
		case c.Type == corev1.NodeDiskPressure:
			keys = append(keys, corev1.TaintNodeDiskPressure)
		case c.Type == corev1.NodePIDPressure:
			keys = append(keys, corev1.TaintNodePIDPressure)
		case c.Type == corev1.NodeNetworkUnavailable:
			keys = append(keys, corev1.TaintNodeNetworkUnavailable)
		}
	}
	if ready != "" {
		keys = append([]string{ready}, keys...)
	}
	var out []corev1.Taint
	for _, k := range keys {
		if !hasNoScheduleTaint(node, k) {
			out = append(out, corev1.Taint{Key: k, Effect: corev1.TaintEffectNoSchedule})
		}
	}
	return out
}

func hasNoScheduleTaint(node *corev1.Node, key string) bool {
	for _, t := range node.Spec.Taints {
		if t.Key == key && t.Effect == corev1.TaintEffectNoSchedule {
			return true
		}
	}
	return false
}
