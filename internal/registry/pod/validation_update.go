package pod

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
)

// updatableSpecFields is the list Kubernetes names in its "pod updates may
// not change fields other than ..." error.
func updatableSpecFields() []string {
	return []string{
		"`spec.containers[*].image`",
		"`spec.initContainers[*].image`",
		"`spec.activeDeadlineSeconds`",
		"`spec.tolerations` (only additions to existing tolerations)",
		"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
	}
}

// ValidateUpdate is Kubernetes' ValidatePodUpdate: metadata update rules,
// the new spec's validity, and pod spec immutability. Only container and
// init container images, activeDeadlineSeconds (set, or lowered),
// tolerations (additions; tolerationSeconds may change),
// terminationGracePeriodSeconds (negative to 1) and schedulingGates
// (removals) may change.
func ValidateUpdate(p, old *corev1.Pod) field.ErrorList {
	errs := registry.ValidateObjectMetaUpdate(&p.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, Validate(p)...)
	spec := field.NewPath("spec")

	cErrs, stop := validateContainerUpdates(p.Spec.Containers, old.Spec.Containers, spec.Child("containers"))
	errs = append(errs, cErrs...)
	if stop {
		return errs
	}
	cErrs, stop = validateContainerUpdates(p.Spec.InitContainers, old.Spec.InitContainers, spec.Child("initContainers"))
	errs = append(errs, cErrs...)
	if stop {
		return errs
	}

	adsPath := spec.Child("activeDeadlineSeconds")
	if p.Spec.ActiveDeadlineSeconds != nil {
		v := *p.Spec.ActiveDeadlineSeconds
		if v < 0 || v > math.MaxInt32 {
			return append(errs, field.Invalid(adsPath, v, validation.InclusiveRangeError(0, math.MaxInt32)))
		}
		if old.Spec.ActiveDeadlineSeconds != nil && *old.Spec.ActiveDeadlineSeconds < v {
			return append(errs, field.Invalid(adsPath, v, "must be less than or equal to previous value"))
		}
	} else if old.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(adsPath, p.Spec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
	}

	errs = append(errs, validateOnlyAddedTolerations(p.Spec.Tolerations, old.Spec.Tolerations, spec.Child("tolerations"))...)
	errs = append(errs, validateOnlyDeletedSchedulingGates(p.Spec.SchedulingGates, old.Spec.SchedulingGates, spec.Child("schedulingGates"))...)

	if equality.Semantic.DeepEqual(p.Spec, old.Spec) {
		return errs
	}
	munged := *p.Spec.DeepCopy()
	for i := range munged.Containers {
		munged.Containers[i].Image = old.Spec.Containers[i].Image
	}
	for i := range munged.InitContainers {
		munged.InitContainers[i].Image = old.Spec.InitContainers[i].Image
	}
	munged.ActiveDeadlineSeconds = old.Spec.ActiveDeadlineSeconds
	munged.SchedulingGates = old.Spec.SchedulingGates
	munged.Tolerations = old.Spec.Tolerations
	if old.Spec.TerminationGracePeriodSeconds != nil && *old.Spec.TerminationGracePeriodSeconds < 0 &&
		munged.TerminationGracePeriodSeconds != nil && *munged.TerminationGracePeriodSeconds == 1 {
		munged.TerminationGracePeriodSeconds = old.Spec.TerminationGracePeriodSeconds
	}
	if len(old.Spec.SchedulingGates) > 0 {
		// Gated pods may gain nodeSelector entries (no removals or changes).
		if nodeSelectorOnlyAdded(p.Spec.NodeSelector, old.Spec.NodeSelector) {
			munged.NodeSelector = old.Spec.NodeSelector
		}
	}
	if !equality.Semantic.DeepEqual(munged, old.Spec) {
		diff := cmp.Diff(old.Spec, munged)
		errs = append(errs, field.Forbidden(spec, fmt.Sprintf("pod updates may not change fields other than %s\n%v",
			strings.Join(updatableSpecFields(), ","), diff)))
	}
	return errs
}

func validateContainerUpdates(cs, old []corev1.Container, p *field.Path) (field.ErrorList, bool) {
	if len(cs) != len(old) {
		return field.ErrorList{field.Forbidden(p, "pod updates may not add or remove containers")}, true
	}
	return nil, false
}

func validateOnlyAddedTolerations(ts, old []corev1.Toleration, p *field.Path) field.ErrorList {
	for _, o := range old {
		found := false
		clone := o.DeepCopy()
		for _, t := range ts {
			clone.TolerationSeconds = t.TolerationSeconds
			if reflect.DeepEqual(*clone, t) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(p, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return nil
}

func validateOnlyDeletedSchedulingGates(gates, old []corev1.PodSchedulingGate, p *field.Path) field.ErrorList {
	if len(gates) == 0 {
		return nil
	}
	had := sets.New[string]()
	for _, g := range old {
		had.Insert(g.Name)
	}
	var errs field.ErrorList
	for i, g := range gates {
		if !had.Has(g.Name) {
			errs = append(errs, field.Forbidden(p.Index(i).Child("name"), "only deletion is allowed, but found new scheduling gate '"+g.Name+"'"))
		}
	}
	return errs
}

func nodeSelectorOnlyAdded(sel, old map[string]string) bool {
	for k, v := range old {
		if nv, ok := sel[k]; !ok || nv != v {
			return false
		}
	}
	return true
}

// ValidateStatusUpdate is Kubernetes' ValidatePodStatusUpdate (essentials):
// metadata update rules, a valid nominatedNodeName, valid and unique pod
// and host IPs, container statuses naming spec containers, and terminated
// containers not coming back under restartPolicy Never (or OnFailure
// after success).
func ValidateStatusUpdate(p, old *corev1.Pod) field.ErrorList {
	errs := registry.ValidateObjectMetaUpdate(&p.ObjectMeta, &old.ObjectMeta)
	st := field.NewPath("status")
	if n := p.Status.NominatedNodeName; n != "" {
		for _, msg := range registry.NameIsDNSSubdomain(n, false) {
			errs = append(errs, field.Invalid(st.Child("nominatedNodeName"), n, msg))
		}
	}
	errs = append(errs, validateIPs(p.Status.PodIP, podIPs(p.Status.PodIPs), st.Child("podIPs"), "podIP")...)
	errs = append(errs, validateIPs(p.Status.HostIP, hostIPs(p.Status.HostIPs), st.Child("hostIPs"), "hostIP")...)
	errs = append(errs, validateStatusNames(p.Status.ContainerStatuses, p.Spec.Containers, st.Child("containerStatuses"))...)
	errs = append(errs, validateStatusNames(p.Status.InitContainerStatuses, p.Spec.InitContainers, st.Child("initContainerStatuses"))...)
	errs = append(errs, validateStateTransition(p.Status.ContainerStatuses, old.Status.ContainerStatuses, st.Child("containerStatuses"), old.Spec.RestartPolicy)...)
	if old.Spec.RestartPolicy == corev1.RestartPolicyNever {
		errs = append(errs, validateStateTransition(p.Status.InitContainerStatuses, old.Status.InitContainerStatuses, st.Child("initContainerStatuses"), old.Spec.RestartPolicy)...)
	}
	return errs
}

func podIPs(l []corev1.PodIP) []string {
	out := make([]string, len(l))
	for i, ip := range l {
		out[i] = ip.IP
	}
	return out
}

func hostIPs(l []corev1.HostIP) []string {
	out := make([]string, len(l))
	for i, ip := range l {
		out[i] = ip.IP
	}
	return out
}

func validateIPs(primary string, ips []string, p *field.Path, primaryName string) field.ErrorList {
	var errs field.ErrorList
	if len(ips) > 0 && primary != "" && ips[0] != primary {
		errs = append(errs, field.Invalid(p.Index(0).Child("ip"), ips[0], "must be equal to "+primaryName))
	}
	if len(ips) > 2 {
		errs = append(errs, field.TooMany(p, len(ips), 2))
	}
	seen := sets.New[string]()
	for i, ip := range ips {
		ip0 := p.Index(i).Child("ip")
		errs = append(errs, validation.IsValidIP(ip0, ip)...)
		if seen.Has(ip) {
			errs = append(errs, field.Duplicate(ip0, ip))
		}
		seen.Insert(ip)
	}
	return errs
}

func validateStatusNames(statuses []corev1.ContainerStatus, cs []corev1.Container, p *field.Path) field.ErrorList {
	names := sets.New[string]()
	for _, c := range cs {
		names.Insert(c.Name)
	}
	var errs field.ErrorList
	for i, s := range statuses {
		if !names.Has(s.Name) {
			errs = append(errs, field.NotFound(p.Index(i).Child("name"), s.Name))
		}
	}
	return errs
}

func validateStateTransition(statuses, old []corev1.ContainerStatus, p *field.Path, rp corev1.RestartPolicy) field.ErrorList {
	if rp == corev1.RestartPolicyAlways {
		return nil
	}
	var errs field.ErrorList
	for i, s := range statuses {
		for _, o := range old {
			if o.Name != s.Name || o.State.Terminated == nil {
				continue
			}
			if s.State.Terminated != nil {
				break
			}
			if rp == corev1.RestartPolicyNever || o.State.Terminated.ExitCode == 0 {
				errs = append(errs, field.Forbidden(p.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
			break
		}
	}
	return errs
}
