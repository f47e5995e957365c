package pod

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// QOSClass computes a pod's QoS class as Kubernetes' ComputePodQOS, over
// containers and init containers, counting cpu and memory only. A
// resource with a limit but no request counts as requested at the limit
// (what defaulting does), so the result is the same before or after the
// defaults admission plugin ran.
func QOSClass(p *corev1.Pod) corev1.PodQOSClass {
	requests := corev1.ResourceList{}
	limits := corev1.ResourceList{}
	guaranteed := true
	all := append(append([]corev1.Container{}, p.Spec.Containers...), p.Spec.InitContainers...)
	for _, c := range all {
		effReq := corev1.ResourceList{}
		for name, q := range c.Resources.Limits {
			effReq[name] = q
		}
		for name, q := range c.Resources.Requests {
			effReq[name] = q
		}
		for name, q := range effReq {
			if supportedQOS(name) && q.Sign() > 0 {
				add(requests, name, q)
			}
		}
		found := map[corev1.ResourceName]bool{}
		for name, q := range c.Resources.Limits {
			if supportedQOS(name) && q.Sign() > 0 {
				found[name] = true
				add(limits, name, q)
			}
		}
		if !found[corev1.ResourceCPU] || !found[corev1.ResourceMemory] {
			guaranteed = false
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	if guaranteed {
		for name, req := range requests {
			if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
				guaranteed = false
				break
			}
		}
	}
	if guaranteed && len(requests) == len(limits) {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

func supportedQOS(name corev1.ResourceName) bool {
	return name == corev1.ResourceCPU || name == corev1.ResourceMemory
}

func add(list corev1.ResourceList, name corev1.ResourceName, q resource.Quantity) {
	sum := q.DeepCopy()
	if cur, ok := list[name]; ok {
		sum.Add(cur)
	}
	list[name] = sum
}
