package node

import (
	"net"

	corev1 "k8s.io/api/core/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
)

// Validate checks a node: metadata, podCIDRs, taints and addresses.
func Validate(n *corev1.Node) field.ErrorList {
	errs := registry.ValidateObjectMeta(&n.ObjectMeta, false, registry.NameIsDNSSubdomain)
	spec := field.NewPath("spec")
	if n.Spec.PodCIDR != "" {
		if _, _, err := net.ParseCIDR(n.Spec.PodCIDR); err != nil {
			errs = append(errs, field.Invalid(spec.Child("podCIDR"), n.Spec.PodCIDR, "must be a valid CIDR"))
		}
	}
	for i, c := range n.Spec.PodCIDRs {
		if _, _, err := net.ParseCIDR(c); err != nil {
			errs = append(errs, field.Invalid(spec.Child("podCIDRs").Index(i), c, "must be a valid CIDR"))
		}
	}
	if len(n.Spec.PodCIDRs) > 2 {
		errs = append(errs, field.Invalid(spec.Child("podCIDRs"), n.Spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
	}
	errs = append(errs, ValidateTaints(n.Spec.Taints, spec.Child("taints"))...)
	for i, a := range n.Status.Addresses {
		p := field.NewPath("status", "addresses").Index(i)
		if a.Address == "" {
			errs = append(errs, field.Required(p.Child("address"), ""))
		}
		if a.Type == "" {
			errs = append(errs, field.Required(p.Child("type"), ""))
		}
	}
	return errs
}

// ValidateUpdate is Kubernetes' ValidateNodeUpdate (essentials): podCIDRs
// and providerID may only be set once.
func ValidateUpdate(n, old *corev1.Node) field.ErrorList {
	errs := registry.ValidateObjectMetaUpdate(&n.ObjectMeta, &old.ObjectMeta)
	spec := field.NewPath("spec")
	if len(old.Spec.PodCIDRs) > 0 {
		if len(n.Spec.PodCIDRs) != len(old.Spec.PodCIDRs) {
			errs = append(errs, field.Forbidden(spec.Child("podCIDRs"), "node updates may not change podCIDR except from \"\" to valid"))
		} else {
			for i := range old.Spec.PodCIDRs {
				if old.Spec.PodCIDRs[i] != n.Spec.PodCIDRs[i] {
					errs = append(errs, field.Forbidden(spec.Child("podCIDRs"), "node updates may not change podCIDR except from \"\" to valid"))
					break
				}
			}
		}
	}
	if old.Spec.ProviderID != "" && n.Spec.ProviderID != old.Spec.ProviderID {
		errs = append(errs, field.Forbidden(spec.Child("providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	return append(errs, Validate(n)...)
}

// ValidateTaints checks taint keys (qualified names), values (label
// values), effects (enum) and that no key+effect repeats.
func ValidateTaints(taints []corev1.Taint, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, t := range taints {
		ip := p.Index(i)
		errs = append(errs, metav1validation.ValidateLabelName(t.Key, ip.Child("key"))...)
		for _, msg := range validation.IsValidLabelValue(t.Value) {
			errs = append(errs, field.Invalid(ip.Child("value"), t.Value, msg))
		}
		switch t.Effect {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		case "":
			errs = append(errs, field.Required(ip.Child("effect"), ""))
		default:
			errs = append(errs, field.NotSupported(ip.Child("effect"), t.Effect, []string{
				string(corev1.TaintEffectNoSchedule), string(corev1.TaintEffectPreferNoSchedule), string(corev1.TaintEffectNoExecute)}))
		}
		k := t.Key + "=" + string(t.Effect)
		if seen.Has(k) {
			dup := field.Duplicate(ip, t)
			dup.Detail = "taints must be unique by key and effect pair"
			errs = append(errs, dup)
		}
		seen.Insert(k)
	}
	return errs
}
