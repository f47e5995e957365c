package volume

import (
	"fmt"
	"math"
	goruntime "runtime"

	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// NodeAllocatable is what an unset limit resolves to when the agent was
// given no node figures (tests): the host's CPUs and memory.
func NodeAllocatable() v1.ResourceList {
	out := v1.ResourceList{
		v1.ResourceCPU: *resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI),
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		out[v1.ResourceMemory] = *resource.NewQuantity(int64(si.Totalram)*int64(si.Unit), resource.BinarySI)
	}
	return out
}

// ResourceValue is the downward API value of a resourceFieldRef for
// container c: ceil(value / divisor), CPU in milli-units; unset limits
// resolve to alloc.
func ResourceValue(c *v1.Container, ref *v1.ResourceFieldSelector, alloc v1.ResourceList) (string, error) {
	var q resource.Quantity
	var ok bool
	var name v1.ResourceName
	switch r := ref.Resource; {
	case len(r) > 7 && r[:7] == "limits.":
		name = v1.ResourceName(r[7:])
		q, ok = limit(c, name, alloc)
	case len(r) > 9 && r[:9] == "requests.":
		name = v1.ResourceName(r[9:])
		q, ok = c.Resources.Requests[name]
	case r == "cpu" || r == "memory" || r == "ephemeral-storage":
		name = v1.ResourceName(r)
		q, ok = limit(c, name, alloc)
	default:
		return "", fmt.Errorf("unsupported container resource: %v", ref.Resource)
	}
	if !ok {
		q = resource.Quantity{}
	}
	div := ref.Divisor
	if name == v1.ResourceCPU {
		d := div.MilliValue()
		if div.IsZero() {
			d = 1000
		}
		return fmt.Sprint(int64(math.Ceil(float64(q.MilliValue()) / float64(d)))), nil
	}
	d := div.Value()
	if div.IsZero() {
		d = 1
	}
	return fmt.Sprint(int64(math.Ceil(float64(q.Value()) / float64(d)))), nil
}

// limit is c's limit of name, or, when it is unset or zero, the node's
// allocatable (the kubelet's MergeContainerResourceLimits, which does so for
// cpu, memory and ephemeral-storage, never hugepages).
func limit(c *v1.Container, name v1.ResourceName, alloc v1.ResourceList) (resource.Quantity, bool) {
	if q, ok := c.Resources.Limits[name]; ok && !q.IsZero() {
		return q, true
	}
	switch name {
	case v1.ResourceCPU, v1.ResourceMemory, v1.ResourceEphemeralStorage:
		q, ok := alloc[name]
		return q, ok
	}
	return resource.Quantity{}, false
}

// containerNamed finds a container (init or regular) of pod.
func containerNamed(pod *v1.Pod, name string) *v1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	return nil
}
