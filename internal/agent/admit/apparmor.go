package admit

import (
	"strings"

	v1 "k8s.io/api/core/v1"
)

// ReasonAppArmor rejects a pod whose AppArmor profile cannot be enforced
// (the kubelet's appArmorAdmitHandler).
const ReasonAppArmor = "AppArmor"

// appArmor is the kubelet's AppArmor admission: a pod that asks for a
// profile other than Unconfined (pod or container field, or the
// deprecated annotation) is refused on a host without AppArmor, with the
// kubelet's message. peapod does not apply AppArmor profiles (seccomp is
// its confinement), so on a host that has AppArmor such a pod is refused
// too, rather than run unconfined.
func appArmor(pod *v1.Pod, hostEnabled bool) Verdict {
	if !appArmorRequired(pod) {
		return Verdict{Admit: true}
	}
	if !hostEnabled {
		return reject(ReasonAppArmor, "Cannot enforce AppArmor: AppArmor is not enabled on the host")
	}
	return reject(ReasonAppArmor, "Cannot enforce AppArmor: peapod does not apply AppArmor profiles (use seccompProfile)")
}

// appArmorRequired is the kubelet's apparmor isRequired.
func appArmorRequired(pod *v1.Pod) bool {
	confined := func(p *v1.AppArmorProfile) bool { return p != nil && p.Type != v1.AppArmorProfileTypeUnconfined }
	if sc := pod.Spec.SecurityContext; sc != nil && confined(sc.AppArmorProfile) {
		return true
	}
	for _, cs := range [][]v1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			if c.SecurityContext != nil && confined(c.SecurityContext.AppArmorProfile) {
				return true
			}
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.SecurityContext != nil && confined(c.SecurityContext.AppArmorProfile) {
			return true
		}
	}
	for k, v := range pod.Annotations {
		if strings.HasPrefix(k, v1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix) && v != v1.DeprecatedAppArmorBetaProfileNameUnconfined {
			return true
		}
	}
	return false
}
