package node

import (
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
)

const podCIDRChangeMsg = "node updates may not change podCIDR except from \"\" to valid"

// Validate is Kubernetes' ValidateNode: metadata, taints (reported under
// metadata.taints, as upstream), resource quantities and podCIDRs (valid,
// one per family, no duplicates).
func Validate(n *corev1.Node) field.ErrorList {
	errs := registry.ValidateCoreObjectMeta(&n.ObjectMeta, false, registry.NameIsDNSSubdomain)
	errs = append(errs, ValidateTaints(n.Spec.Taints, field.NewPath("metadata", "taints"))...)
	errs = append(errs, validateResources(n)...)
	errs = append(errs, validatePodCIDRs(n.Spec.PodCIDRs, field.NewPath("spec", "podCIDRs"))...)
	return errs
}

// ValidateUpdate is Kubernetes' ValidateNodeUpdate: metadata update rules,
// resources, unique addresses, podCIDRs and providerID set at most once,
// valid taints. Status may change freely otherwise.
func ValidateUpdate(n, old *corev1.Node) field.ErrorList {
	errs := registry.ValidateCoreObjectMetaUpdate(&n.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateResources(n)...)
	seen := map[corev1.NodeAddress]bool{}
	for i, a := range n.Status.Addresses {
		if seen[a] {
			errs = append(errs, field.Duplicate(field.NewPath("status", "addresses").Index(i), a))
		}
		seen[a] = true
	}
	if len(old.Spec.PodCIDRs) > 0 {
		p := field.NewPath("spec", "podCIDRs")
		if len(old.Spec.PodCIDRs) != len(n.Spec.PodCIDRs) {
			errs = append(errs, field.Forbidden(p, podCIDRChangeMsg))
		} else {
			for i := range old.Spec.PodCIDRs {
				if old.Spec.PodCIDRs[i] != n.Spec.PodCIDRs[i] {
					errs = append(errs, field.Forbidden(p, podCIDRChangeMsg))
				}
			}
		}
	}
	if old.Spec.ProviderID != "" && n.Spec.ProviderID != old.Spec.ProviderID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	errs = append(errs, ValidateTaints(n.Spec.Taints, field.NewPath("metadata", "taints"))...)
	if n.Spec.DoNotUseExternalID != old.Spec.DoNotUseExternalID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "externalID"), "may not be updated"))
	}
	return errs
}

func validatePodCIDRs(cidrs []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	v4, v6 := 0, 0
	for i, c := range cidrs {
		ip, _, err := net.ParseCIDR(c)
		if err != nil {
			errs = append(errs, field.Invalid(p.Index(i), c, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"))
			continue
		}
		if ip.To4() != nil {
			v4++
		} else {
			v6++
		}
	}
	if len(cidrs) > 1 {
		if v4 != 1 || v6 != 1 || len(cidrs) > 2 {
			errs = append(errs, field.Invalid(p, cidrs, "may specify no more than one CIDR for each IP family"))
		}
		dup := sets.New[string]()
		for i, c := range cidrs {
			if dup.Has(c) {
				errs = append(errs, field.Duplicate(p.Index(i), c))
			}
			dup.Insert(c)
		}
	}
	return errs
}

// validateResources: capacity and allocatable quantities are non-negative.
func validateResources(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	for _, part := range []struct {
		name string
		list corev1.ResourceList
	}{{"capacity", n.Status.Capacity}, {"allocatable", n.Status.Allocatable}} {
		for _, k := range registry.SortedKeys(toStringMap(part.list)) {
			q := part.list[corev1.ResourceName(k)]
			if q.Sign() < 0 {
				errs = append(errs, field.Invalid(field.NewPath("status", part.name).Key(k), q.String(), "must be greater than or equal to 0"))
			}
		}
	}
	return errs
}

func toStringMap(l corev1.ResourceList) map[string]struct{} {
	m := make(map[string]struct{}, len(l))
	for k := range l {
		m[string(k)] = struct{}{}
	}
	return m
}

// ValidateTaints is Kubernetes' validateNodeTaints: qualified keys, label
// values, a known effect, and no two taints with the same key and effect.
func ValidateTaints(taints []corev1.Taint, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, t := range taints {
		ip := p.Index(i)
		errs = append(errs, metav1validation.ValidateLabelName(t.Key, ip.Child("key"))...)
		if msgs := validation.IsValidLabelValue(t.Value); len(msgs) != 0 {
			errs = append(errs, field.Invalid(ip.Child("value"), t.Value, strings.Join(msgs, ";")))
		}
		switch t.Effect {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		case "":
			errs = append(errs, field.Required(ip.Child("effect"), ""))
		default:
			errs = append(errs, field.NotSupported(ip.Child("effect"), t.Effect, []corev1.TaintEffect{
				corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute}))
		}
		k := string(t.Effect) + "\x00" + t.Key
		if seen.Has(k) {
			dup := field.Duplicate(ip, t)
			dup.Detail = "taints must be unique by key and effect pair"
			errs = append(errs, dup)
			continue
		}
		seen.Insert(k)
	}
	return errs
}
