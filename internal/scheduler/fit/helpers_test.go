package fit

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// rl builds a ResourceList from name/quantity pairs.
func rl(kv ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

func ctr(requests ...string) corev1.Container {
	c := corev1.Container{Name: "c", Image: "busybox"}
	if len(requests) > 0 {
		c.Resources.Requests = rl(requests...)
	}
	return c
}

func podWith(mut func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{}
	p.Name, p.Namespace, p.UID = "p", "default", "uid-p"
	p.Spec.Containers = []corev1.Container{ctr()}
	if mut != nil {
		mut(p)
	}
	return p
}

func readyNode(name string, mut func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{}
	n.Name = name
	n.Status.Allocatable = rl("cpu", "4", "memory", "8Gi", "pods", "110", "ephemeral-storage", "10Gi")
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	if mut != nil {
		mut(n)
	}
	return n
}
