// Package registry describes each REST resource the API server serves: its
// kinds, scope, validation, defaults that are not admission's, status split,
// table columns and selectable fields. One sub-package per resource
// (registry/pod, registry/secret, ...), each exporting a Resource.
//
// The HTTP edge (internal/apiserver) is generic over Resource; everything
// resource-specific lives here.
package registry

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Resource is one REST resource (a collection like pods).
type Resource struct {
	GVR          schema.GroupVersionResource // e.g. {"", "v1", "pods"}
	Kind         string                      // "Pod"
	ListKind     string                      // "PodList"
	SingularName string                      // "pod"
	ShortNames   []string                    // ["po"]
	Categories   []string                    // ["all"]
	Namespaced   bool

	New     func() runtime.Object // &v1.Pod{}
	NewList func() runtime.Object // &v1.PodList{}

	Strategy Strategy

	// Subresources served, e.g. "status", "binding", "log", "exec", "attach",
	// "portforward", "ephemeralcontainers" for pods, "token" for
	// serviceaccounts. The edge dispatches status through StatusStrategy,
	// ephemeralcontainers through EphemeralContainersStrategy and the rest
	// through its own handlers.
	Subresources []string
}

// GVK returns the resource's group/version/kind.
func (r *Resource) GVK() schema.GroupVersionKind {
	return r.GVR.GroupVersion().WithKind(r.Kind)
}

// Strategy is the resource-specific behaviour of create, update and reads.
// Validation returns every field error at once; the edge turns a non-empty
// list into 422 Invalid with one cause per error.
type Strategy interface {
	// PrepareForCreate resets what a client may not set on create (e.g. a
	// pod's status becomes {phase: Pending}). Runs before admission.
	PrepareForCreate(ctx context.Context, obj runtime.Object)
	// Validate checks a new object, metadata included (name format, namespace).
	Validate(ctx context.Context, obj runtime.Object) field.ErrorList
	// PrepareForUpdate copies what the main resource may not change (status)
	// from old into obj.
	PrepareForUpdate(ctx context.Context, obj, old runtime.Object)
	// ValidateUpdate checks an update, immutability rules included.
	ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList
	// AllowCreateOnUpdate: whether PUT of a missing object creates it.
	AllowCreateOnUpdate() bool
	// GetAttrs returns labels and the selectable fields: metadata.name and
	// metadata.namespace always, plus resource-specific ones.
	GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error)
	// ConvertToTable renders objects (a single object or a list) for
	// `kubectl get`. Rows carry PartialObjectMetadata unless the edge asks
	// for the full object (includeObject=Object).
	ConvertToTable(ctx context.Context, obj runtime.Object, opts *metav1.TableOptions) (*metav1.Table, error)
}

// StatusStrategy is implemented by strategies of resources with a status
// subresource: an update through /status changes only status.
type StatusStrategy interface {
	PrepareForStatusUpdate(ctx context.Context, obj, old runtime.Object)
	ValidateStatusUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList
}

// EphemeralContainersStrategy is implemented by the pods strategy: an
// update through pods/<name>/ephemeralcontainers changes only
// spec.ephemeralContainers (kube's podEphemeralContainersStrategy).
type EphemeralContainersStrategy interface {
	PrepareForEphemeralContainersUpdate(ctx context.Context, obj, old runtime.Object)
	ValidateEphemeralContainersUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList
}

// GracefulDeleter is implemented by strategies whose objects delete
// gracefully (pods, SEMANTICS.md section 6). It returns whether the delete
// is graceful, adjusting options.GracePeriodSeconds; the edge then sets
// deletionTimestamp/deletionGracePeriodSeconds instead of removing.
type GracefulDeleter interface {
	CheckGracefulDelete(ctx context.Context, obj runtime.Object, options *metav1.DeleteOptions) bool
}

// FieldSetter is optional: strategies that know how to reject unknown
// field selector keys list the ones they support (for a 400 on others).
type FieldSetter interface {
	SelectableFields() []string
}
