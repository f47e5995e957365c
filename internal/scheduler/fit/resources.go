package fit

import (
	corev1 "k8s.io/api/core/v1"
)

// Default requests used for scoring containers that request no CPU or
// memory, so that many zero-request pods spread (kube's
// DefaultMilliCPURequest and DefaultMemoryRequest).
const (
	DefaultMilliCPURequest int64 = 100               // 0.1 core
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024 // 200 MiB
)

// Resource is an amount of each resource a pod requests or a node offers.
// Scalar holds every other resource (extended resources, hugepages).
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	Scalar           map[corev1.ResourceName]int64
}

// NewResource converts a ResourceList; the pods resource is left out (it is
// a count, not a request).
func NewResource(l corev1.ResourceList) Resource {
	var r Resource
	for name, q := range l {
		switch name {
		case corev1.ResourceCPU:
			r.MilliCPU = q.MilliValue()
		case corev1.ResourceMemory:
			r.Memory = q.Value()
		case corev1.ResourceEphemeralStorage:
			r.EphemeralStorage = q.Value()
		case corev1.ResourcePods:
		default:
			if r.Scalar == nil {
				r.Scalar = map[corev1.ResourceName]int64{}
			}
			r.Scalar[name] = q.Value()
		}
	}
	return r
}

// IsZero reports whether nothing is requested.
func (r Resource) IsZero() bool {
	if r.MilliCPU != 0 || r.Memory != 0 || r.EphemeralStorage != 0 {
		return false
	}
	for _, v := range r.Scalar {
		if v != 0 {
			return false
		}
	}
	return true
}

// Clone returns a copy that shares nothing with r.
func (r Resource) Clone() Resource {
	c := r
	if r.Scalar != nil {
		c.Scalar = make(map[corev1.ResourceName]int64, len(r.Scalar))
		for k, v := range r.Scalar {
			c.Scalar[k] = v
		}
	}
	return c
}

// add adds o to r (sign +1) or subtracts it (sign -1).
func (r *Resource) add(o Resource, sign int64) {
	r.MilliCPU += sign * o.MilliCPU
	r.Memory += sign * o.Memory
	r.EphemeralStorage += sign * o.EphemeralStorage
	for k, v := range o.Scalar {
		if r.Scalar == nil {
			r.Scalar = map[corev1.ResourceName]int64{}
		}
		r.Scalar[k] += sign * v
	}
}

// setMax raises every amount of r to at least that of o.
func (r *Resource) setMax(o Resource) {
	r.MilliCPU = max(r.MilliCPU, o.MilliCPU)
	r.Memory = max(r.Memory, o.Memory)
	r.EphemeralStorage = max(r.EphemeralStorage, o.EphemeralStorage)
	for k, v := range o.Scalar {
		if r.Scalar == nil {
			r.Scalar = map[corev1.ResourceName]int64{}
		}
		if cur, ok := r.Scalar[k]; !ok || v > cur {
			r.Scalar[k] = v
		}
	}
}

// PodRequests is what the pod needs from a node, as kube's
// computePodResourceRequest: the sum of the app containers and of the
// restartable (sidecar) init containers, or the largest init container
// (plus the sidecars started before it) if that is more, plus the pod
// overhead.
func PodRequests(pod *corev1.Pod) Resource {
	return podRequests(pod, false)
}

// PodNonZeroRequests is PodRequests with a container's missing CPU or
// memory request counted as DefaultMilliCPURequest / DefaultMemoryRequest;
// it is what scoring uses.
func PodNonZeroRequests(pod *corev1.Pod) Resource {
	return podRequests(pod, true)
}

func podRequests(pod *corev1.Pod, nonZero bool) Resource {
	var reqs Resource
	for i := range pod.Spec.Containers {
		reqs.add(containerRequests(&pod.Spec.Containers[i], nonZero), 1)
	}
	var sidecars, initMax Resource
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cr := containerRequests(c, nonZero)
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			// A sidecar keeps running next to the app containers.
			reqs.add(cr, 1)
			sidecars.add(cr, 1)
			cr = sidecars.Clone()
		} else {
			cr.add(sidecars, 1)
		}
		initMax.setMax(cr)
	}
	reqs.setMax(initMax)
	if pod.Spec.Overhead != nil {
		reqs.add(NewResource(pod.Spec.Overhead), 1)
	}
	return reqs
}

func containerRequests(c *corev1.Container, nonZero bool) Resource {
	r := NewResource(c.Resources.Requests)
	if nonZero {
		if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
			r.MilliCPU = DefaultMilliCPURequest
		}
		if _, ok := c.Resources.Requests[corev1.ResourceMemory]; !ok {
			r.Memory = DefaultMemoryRequest
		}
	}
	return r
}
