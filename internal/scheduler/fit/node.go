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
	// controller would add for its Ready condition (see ConditionTaints).
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
// puts on a node whose Ready condition is not True
// (node.kubernetes.io/not-ready for False or missing,
// node.kubernetes.io/unreachable for Unknown), unless the node already
// carries them. The scheduler treats them as present so that a node that
// is not ready gets no pods even before a controller taints it, and the
// message is the one Kubernetes prints.
func ConditionTaints(node *corev1.Node) []corev1.Taint {
	key := corev1.TaintNodeNotReady
	for _, c := range node.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		switch c.Status {
		case corev1.ConditionTrue:
			return nil
		case corev1.ConditionUnknown:
			key = corev1.TaintNodeUnreachable
		}
	}
	for _, t := range node.Spec.Taints {
		if t.Key == key && t.Effect == corev1.TaintEffectNoSchedule {
			return nil
		}
	}
	return []corev1.Taint{{Key: key, Effect: corev1.TaintEffectNoSchedule}}
}
