// Package node is the registry entry for core/v1 nodes.
package node

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
)

// FieldSpecUnschedulable is the node-specific field selector key.
const FieldSpecUnschedulable = "spec.unschedulable"

// NewResource returns the nodes resource (wall-clock AGE), with the status
// subresource.
func NewResource() *registry.Resource { return NewResourceWithClock(time.Now) }

// NewResourceWithClock returns the nodes resource with an injected clock.
func NewResourceWithClock(now func() time.Time) *registry.Resource {
	return &registry.Resource{
		GVR:          schema.GroupVersionResource{Version: "v1", Resource: "nodes"},
		Kind:         "Node",
		ListKind:     "NodeList",
		SingularName: "node",
		ShortNames:   []string{"no"},
		Namespaced:   false,
		New:          func() runtime.Object { return &corev1.Node{} },
		NewList:      func() runtime.Object { return &corev1.NodeList{} },
		Subresources: []string{"status"},
		Strategy: &Strategy{registry.BaseStrategy{Table: &registry.TableConvertor{
			GVK:     corev1.SchemeGroupVersion.WithKind("Node"),
			Columns: columns(),
			Row:     row,
			Now:     now,
		}}},
	}
}

// Strategy implements registry.Strategy and StatusStrategy for nodes.
type Strategy struct{ registry.BaseStrategy }

var (
	_ registry.Strategy       = (*Strategy)(nil)
	_ registry.StatusStrategy = (*Strategy)(nil)
	_ registry.FieldSetter    = (*Strategy)(nil)
)

// PrepareForCreate clears metadata.generation (unused for nodes in
// Kubernetes); a node registers with its status.
func (*Strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	obj.(*corev1.Node).Generation = 0
}

// PrepareForUpdate keeps the old status.
func (*Strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	obj.(*corev1.Node).Status = old.(*corev1.Node).Status
}

// PrepareForStatusUpdate keeps the old spec.
func (*Strategy) PrepareForStatusUpdate(_ context.Context, obj, old runtime.Object) {
	obj.(*corev1.Node).Spec = old.(*corev1.Node).Spec
}

// Validate checks a new node.
func (*Strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return Validate(obj.(*corev1.Node))
}

// ValidateUpdate checks an update.
func (*Strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return ValidateUpdate(obj.(*corev1.Node), old.(*corev1.Node))
}

// ValidateStatusUpdate checks a status update.
func (*Strategy) ValidateStatusUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return ValidateUpdate(obj.(*corev1.Node), old.(*corev1.Node))
}

// GetAttrs returns labels and metadata.name, spec.unschedulable.
func (*Strategy) GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	n := obj.(*corev1.Node)
	u := "false"
	if n.Spec.Unschedulable {
		u = "true"
	}
	return registry.Attrs(&n.ObjectMeta, fields.Set{FieldSpecUnschedulable: u})
}

// SelectableFields lists the resource-specific field selector keys (the
// edge always allows metadata.name and metadata.namespace).
func (*Strategy) SelectableFields() []string {
	return registry.SelectableFields(FieldSpecUnschedulable)
}
