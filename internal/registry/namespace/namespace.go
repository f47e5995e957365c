// Package namespace is the registry entry for core/v1 namespaces.
package namespace

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
)

// FieldStatusPhase is the namespace-specific field selector key.
const FieldStatusPhase = "status.phase"

// NewResource returns the namespaces resource (wall-clock AGE), with the
// status subresource.
func NewResource() *registry.Resource { return NewResourceWithClock(time.Now) }

// NewResourceWithClock returns the namespaces resource with an injected clock.
func NewResourceWithClock(now func() time.Time) *registry.Resource {
	return &registry.Resource{
		GVR:          schema.GroupVersionResource{Version: "v1", Resource: "namespaces"},
		Kind:         "Namespace",
		ListKind:     "NamespaceList",
		SingularName: "namespace",
		ShortNames:   []string{"ns"},
		Namespaced:   false,
		New:          func() runtime.Object { return &corev1.Namespace{} },
		NewList:      func() runtime.Object { return &corev1.NamespaceList{} },
		Subresources: []string{"status"},
		Strategy: &Strategy{registry.BaseStrategy{Table: &registry.TableConvertor{
			GVK: corev1.SchemeGroupVersion.WithKind("Namespace"),
			Columns: []metav1.TableColumnDefinition{
				registry.NameColumn(),
				registry.Column("Status", "string", 0, "The status of the namespace"),
				registry.AgeColumn(),
			},
			Row: row,
			Now: now,
		}}},
	}
}

// Strategy implements registry.Strategy and StatusStrategy for namespaces.
type Strategy struct{ registry.BaseStrategy }

var (
	_ registry.Strategy       = (*Strategy)(nil)
	_ registry.StatusStrategy = (*Strategy)(nil)
	_ registry.FieldSetter    = (*Strategy)(nil)
)

// setNameLabel sets kubernetes.io/metadata.name, as upstream does on every
// write.
func setNameLabel(ns *corev1.Namespace) {
	if ns.Name == "" {
		return
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[corev1.LabelMetadataName] = ns.Name
}

// PrepareForCreate sets status.phase Active, the "kubernetes" finalizer
// and the kubernetes.io/metadata.name label.
func (*Strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	ns := obj.(*corev1.Namespace)
	ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	has := false
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			has = true
		}
	}
	if !has {
		ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
	}
	setNameLabel(ns)
	ns.Generation = 0 // namespaces have no generation in Kubernetes
}

// PrepareForUpdate keeps the old spec.finalizers and status.
func (*Strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	ns, o := obj.(*corev1.Namespace), old.(*corev1.Namespace)
	ns.Spec.Finalizers = o.Spec.Finalizers
	ns.Status = o.Status
	setNameLabel(ns)
}

// PrepareForStatusUpdate keeps the old spec.
func (*Strategy) PrepareForStatusUpdate(_ context.Context, obj, old runtime.Object) {
	obj.(*corev1.Namespace).Spec = old.(*corev1.Namespace).Spec
}

// Validate checks a new namespace: DNS-1123 label name, finalizer names.
func (*Strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return Validate(obj.(*corev1.Namespace))
}

// ValidateUpdate checks an update.
func (*Strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	ns, o := obj.(*corev1.Namespace), old.(*corev1.Namespace)
	return append(registry.ValidateCoreObjectMetaUpdate(&ns.ObjectMeta, &o.ObjectMeta), Validate(ns)...)
}

// ValidateStatusUpdate allows phase Active only while not being deleted,
// and Terminating only once deletionTimestamp is set.
func (*Strategy) ValidateStatusUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	ns, o := obj.(*corev1.Namespace), old.(*corev1.Namespace)
	errs := registry.ValidateCoreObjectMetaUpdate(&ns.ObjectMeta, &o.ObjectMeta)
	p := field.NewPath("status", "phase")
	if ns.DeletionTimestamp.IsZero() {
		if ns.Status.Phase != corev1.NamespaceActive {
			errs = append(errs, field.Invalid(p, ns.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty"))
		}
	} else if ns.Status.Phase != corev1.NamespaceTerminating {
		errs = append(errs, field.Invalid(p, ns.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"))
	}
	return errs
}

// GetAttrs returns labels and metadata.name, status.phase.
func (*Strategy) GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	ns := obj.(*corev1.Namespace)
	return registry.Attrs(&ns.ObjectMeta, fields.Set{FieldStatusPhase: string(ns.Status.Phase)})
}

// SelectableFields lists the resource-specific field selector keys (the
// edge always allows metadata.name and metadata.namespace).
func (*Strategy) SelectableFields() []string { return registry.SelectableFields(FieldStatusPhase) }

func row(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	ns := obj.(*corev1.Namespace)
	return metav1.TableRow{Cells: []interface{}{
		ns.Name, string(ns.Status.Phase), registry.HumanAge(ns.CreationTimestamp, now),
	}}, nil
}

// Validate is Kubernetes' ValidateNamespace.
func Validate(ns *corev1.Namespace) field.ErrorList {
	errs := registry.ValidateCoreObjectMeta(&ns.ObjectMeta, false, registry.NameIsDNSLabel)
	for _, f := range ns.Spec.Finalizers {
		// Kubernetes reports these without the index.
		errs = append(errs, validateFinalizerName(string(f), field.NewPath("spec", "finalizers"))...)
	}
	return errs
}

// validateFinalizerName: "kubernetes" or a domain-qualified name.
func validateFinalizerName(name string, p *field.Path) field.ErrorList {
	errs := apimachineryvalidation.ValidateFinalizerName(name, p)
	if len(errs) == 0 && name != string(corev1.FinalizerKubernetes) && !containsSlash(name) {
		errs = append(errs, field.Invalid(p, name, "name is neither a standard finalizer name nor is it fully qualified"))
	}
	return errs
}

func containsSlash(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return true
		}
	}
	return false
}
