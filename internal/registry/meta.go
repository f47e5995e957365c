package registry

import (
	"sort"
	"strings"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// NameFunc validates an object name (or a generateName prefix when prefix
// is true) and returns one message per problem, as apimachinery's
// ValidateNameFunc.
type NameFunc = apimachineryvalidation.ValidateNameFunc

// NameIsDNSSubdomain is the name rule of most resources (pods, secrets,
// configmaps, serviceaccounts, nodes, events, leases).
func NameIsDNSSubdomain(name string, prefix bool) []string {
	return apimachineryvalidation.NameIsDNSSubdomain(name, prefix)
}

// NameIsDNSLabel is the name rule of namespaces.
func NameIsDNSLabel(name string, prefix bool) []string {
	return apimachineryvalidation.NameIsDNSLabel(name, prefix)
}

// ValidateObjectMeta checks a new object's metadata as kube-apiserver does:
// name (or generateName) format, namespace presence and format (or its
// absence for cluster-scoped resources), labels, annotations, owner
// references, finalizers and managedFields. Errors are under "metadata".
func ValidateObjectMeta(m *metav1.ObjectMeta, namespaced bool, nameFn NameFunc) field.ErrorList {
	return apimachineryvalidation.ValidateObjectMeta(m, namespaced, nameFn, field.NewPath("metadata"))
}

// ValidateObjectMetaUpdate checks metadata on update: name, namespace, uid,
// creationTimestamp, deletionTimestamp and deletionGracePeriodSeconds are
// immutable, generation may not decrease, labels and annotations must be
// valid, and finalizers may not be added to an object being deleted.
//
// Unlike apimachinery it does not require metadata.resourceVersion: whether
// an update without one is allowed (unconditional update) is the storage
// edge's decision, which fills it in before validating.
func ValidateObjectMetaUpdate(newM, oldM *metav1.ObjectMeta) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMetaUpdate(newM, oldM, field.NewPath("metadata"))
	out := errs[:0]
	rv := field.NewPath("metadata", "resourceVersion").String()
	for _, e := range errs {
		if e.Field == rv && e.Type == field.ErrorTypeInvalid && newM.ResourceVersion == "" {
			continue
		}
		out = append(out, e)
	}
	return out
}

// ValidateCoreObjectMeta is ValidateObjectMeta plus the extra rule
// Kubernetes applies to core/v1 objects: a finalizer without a "/" must
// be a standard one (kubernetes, orphan, foregroundDeletion).
func ValidateCoreObjectMeta(m *metav1.ObjectMeta, namespaced bool, nameFn NameFunc) field.ErrorList {
	return append(ValidateObjectMeta(m, namespaced, nameFn), validateKubeFinalizers(m.Finalizers)...)
}

// ValidateCoreObjectMetaUpdate is ValidateObjectMetaUpdate plus the core/v1
// finalizer rule.
func ValidateCoreObjectMetaUpdate(newM, oldM *metav1.ObjectMeta) field.ErrorList {
	return append(ValidateObjectMetaUpdate(newM, oldM), validateKubeFinalizers(newM.Finalizers)...)
}

func validateKubeFinalizers(finalizers []string) field.ErrorList {
	var errs field.ErrorList
	for i, f := range finalizers {
		if strings.Contains(f, "/") {
			continue
		}
		switch f {
		case "kubernetes", metav1.FinalizerOrphanDependents, metav1.FinalizerDeleteDependents:
		default:
			errs = append(errs, field.Invalid(field.NewPath("metadata", "finalizers").Index(i), f,
				"name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return errs
}

// ValidateImmutableField returns a Kubernetes-style "field is immutable"
// error when newVal differs from oldVal.
func ValidateImmutableField(newVal, oldVal interface{}, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateImmutableField(newVal, oldVal, fldPath)
}

// SortedKeys returns a map's keys in order, so that validation reports
// errors deterministically.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
