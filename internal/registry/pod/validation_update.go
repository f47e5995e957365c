package pod

import (
	"fmt"
	"math"
	"net"
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
	errs := registry.ValidateCoreObjectMetaUpdate(&p.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateMetadataAndSpec(p)...)
	errs = append(errs, validatePodAnnotationUpdates(p, old)...)
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
	oldQOS := old.Status.QOSClass
	if oldQOS == "" {
		oldQOS = QOSClass(old)
	}
	if oldQOS != QOSClass(p) {
		errs = append(errs, field.Invalid(field.NewPath("metadata"), p.Status.QOSClass, "Pod QoS is immutable"))
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
	var errs field.ErrorList
	for i, c := range cs {
		if c.Image == "" {
			errs = append(errs, field.Required(p.Index(i).Child("image"), ""))
		}
		if strings.TrimSpace(c.Image) != c.Image {
			errs = append(errs, field.Invalid(p.Index(i).Child("image"), c.Image, "must not have leading or trailing whitespace"))
		}
	}
	return errs, false
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

// ValidateStatusUpdate is Kubernetes' ValidatePodStatusUpdate: metadata
// update rules, custom condition types, nodeName untouched, a valid new
// nominatedNodeName, terminated containers not coming back when the
// restart policy forbids it, and valid pod/host IPs (at most one per
// family, no duplicates, hostIPs[0] == hostIP).
func ValidateStatusUpdate(p, old *corev1.Pod) field.ErrorList {
	errs := registry.ValidateCoreObjectMetaUpdate(&p.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validatePodAnnotationUpdates(p, old)...)
	// Upstream reports condition types under metadata.conditions.
	errs = append(errs, validateConditions(p.Status.Conditions, field.NewPath("metadata", "conditions"))...)
	st := field.NewPath("status")
	if p.Spec.NodeName != old.Spec.NodeName {
		errs = append(errs, field.Forbidden(st.Child("nodeName"), "may not be changed directly"))
	}
	if n := p.Status.NominatedNodeName; n != old.Status.NominatedNodeName && n != "" {
		for _, msg := range registry.NameIsDNSSubdomain(n, false) {
			errs = append(errs, field.Invalid(st.Child("nominatedNodeName"), n, msg))
		}
	}
	errs = append(errs, validateStateTransition(p.Status.ContainerStatuses, old.Status.ContainerStatuses,
		st.Child("containerStatuses"), old.Spec.RestartPolicy, nil)...)
	errs = append(errs, validateStateTransition(p.Status.InitContainerStatuses, old.Status.InitContainerStatuses,
		st.Child("initContainerStatuses"), old.Spec.RestartPolicy, old.Spec.InitContainers)...)
	errs = append(errs, validateStateTransition(p.Status.EphemeralContainerStatuses, old.Status.EphemeralContainerStatuses,
		st.Child("ephemeralContainerStatuses"), corev1.RestartPolicyNever, nil)...)
	errs = append(errs, validateIPs(podIPs(p.Status.PodIPs), st.Child("podIPs"))...)
	if len(p.Status.HostIPs) > 0 && p.Status.HostIP != p.Status.HostIPs[0].IP {
		errs = append(errs, field.Invalid(st.Child("hostIPs").Index(0).Child("ip"), p.Status.HostIPs[0].IP, "must be equal to `hostIP`"))
	}
	errs = append(errs, validateIPs(hostIPs(p.Status.HostIPs), st.Child("hostIPs"))...)
	return errs
}

func validateConditions(conds []corev1.PodCondition, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range conds {
		switch c.Type {
		case corev1.PodScheduled, corev1.PodReady, corev1.PodInitialized:
			continue
		}
		for _, msg := range validation.IsQualifiedName(string(c.Type)) {
			errs = append(errs, field.Invalid(p.Index(i).Child("Type"), string(c.Type), msg))
		}
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

// validateIPs: every IP valid; more than one must be one per family with
// no duplicates.
func validateIPs(ips []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ip := range ips {
		errs = append(errs, validation.IsValidIP(p.Index(i), ip)...)
	}
	if len(ips) <= 1 {
		return errs
	}
	v4, v6 := 0, 0
	for _, ip := range ips {
		if parsed := net.ParseIP(ip); parsed != nil {
			if parsed.To4() != nil {
				v4++
			} else {
				v6++
			}
		}
	}
	if v4 != 1 || v6 != 1 || len(ips) > 2 {
		errs = append(errs, field.Invalid(p, ips, "may specify no more than one IP for each IP family"))
	}
	seen := sets.New[string]()
	for i, ip := range ips {
		if seen.Has(ip) {
			errs = append(errs, field.Duplicate(p.Index(i), ip))
		}
		seen.Insert(ip)
	}
	return errs
}

// validateStateTransition is ValidateContainerStateTransition (and, with
// init containers given, the init variant that lets sidecars restart): a
// container terminated under Never, or successfully under OnFailure, may
// not become non-terminated. Errors are indexed by the old status.
func validateStateTransition(statuses, old []corev1.ContainerStatus, p *field.Path, rp corev1.RestartPolicy, inits []corev1.Container) field.ErrorList {
	if rp == corev1.RestartPolicyAlways {
		return nil
	}
	var errs field.ErrorList
	for i, o := range old {
		if o.State.Terminated == nil {
			continue
		}
		if o.State.Terminated.ExitCode != 0 && rp == corev1.RestartPolicyOnFailure {
			continue
		}
		sidecar := false
		for _, c := range inits {
			if c.Name == o.Name {
				sidecar = c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
				break
			}
		}
		if sidecar {
			continue
		}
		for _, s := range statuses {
			if s.Name == o.Name && s.State.Terminated == nil {
				errs = append(errs, field.Forbidden(p.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
		}
	}
	return errs
}
