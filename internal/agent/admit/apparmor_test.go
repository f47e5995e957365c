package admit

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// A pod asking for an AppArmor profile (field or deprecated annotation) is
// refused with the kubelet's reason and message when the host has no
// AppArmor, and refused with peapod's own when it has (profiles are not
// applied); Unconfined and no profile are admitted.
func TestAppArmorAdmission(t *testing.T) {
	rd := &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeRuntimeDefault}
	un := &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeUnconfined}
	pod := func(mut func(*v1.Pod)) *v1.Pod {
		p := &v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c"}}, InitContainers: []v1.Container{{Name: "i"}}}}
		mut(p)
		return p
	}
	cases := []struct {
		name string
		pod  *v1.Pod
		want bool
	}{
		{"none", pod(func(*v1.Pod) {}), false},
		{"pod RuntimeDefault", pod(func(p *v1.Pod) { p.Spec.SecurityContext = &v1.PodSecurityContext{AppArmorProfile: rd} }), true},
		{"pod Unconfined", pod(func(p *v1.Pod) { p.Spec.SecurityContext = &v1.PodSecurityContext{AppArmorProfile: un} }), false},
		{"init container", pod(func(p *v1.Pod) { p.Spec.InitContainers[0].SecurityContext = &v1.SecurityContext{AppArmorProfile: rd} }), true},
		{"annotation", pod(func(p *v1.Pod) {
			p.Annotations = map[string]string{v1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + "c": "localhost/k8s-x"}
		}), true},
		{"annotation unconfined", pod(func(p *v1.Pod) {
			p.Annotations = map[string]string{v1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + "c": v1.DeprecatedAppArmorBetaProfileNameUnconfined}
		}), false},
	}
	node := Node{Allocatable: v1.ResourceList{v1.ResourcePods: resource.MustParse("110")}}
	for _, c := range cases {
		c.pod.Name, c.pod.Namespace = "p", "ns"
		v := Pod(node, nil, c.pod)
		if refused := !v.Admit; refused != c.want {
			t.Errorf("%s: verdict %+v", c.name, v)
			continue
		}
		if c.want && (v.Reason != ReasonAppArmor || v.Message != "Cannot enforce AppArmor: AppArmor is not enabled on the host") {
			t.Errorf("%s: %+v", c.name, v)
		}
	}
	node.AppArmor = true
	if v := Pod(node, nil, cases[1].pod); v.Admit || v.Message != "Cannot enforce AppArmor: peapod does not apply AppArmor profiles (use seccompProfile)" {
		t.Errorf("AppArmor host: %+v", v)
	}
}
