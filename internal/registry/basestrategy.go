package registry

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// BaseStrategy provides the Strategy methods most resources share. Embed
// it in a resource's strategy and define there only what differs
// (PrepareForCreate, Validate, ValidateUpdate, and any of the methods below
// the resource does differently, which then take precedence).
type BaseStrategy struct {
	// Table renders `kubectl get` output.
	Table *TableConvertor
	// CreateOnUpdate is what AllowCreateOnUpdate reports.
	CreateOnUpdate bool
}

// PrepareForUpdate does nothing: the whole object is client-writable.
func (BaseStrategy) PrepareForUpdate(context.Context, runtime.Object, runtime.Object) {}

// AllowCreateOnUpdate reports CreateOnUpdate.
func (b BaseStrategy) AllowCreateOnUpdate() bool { return b.CreateOnUpdate }

// GetAttrs returns labels and metadata.name, metadata.namespace.
func (BaseStrategy) GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	return Attrs(obj.(metav1.ObjectMetaAccessor).GetObjectMeta().(*metav1.ObjectMeta), nil)
}

// SelectableFields lists no resource-specific field selector keys (the
// edge always allows metadata.name and metadata.namespace).
func (BaseStrategy) SelectableFields() []string { return SelectableFields() }

// ConvertToTable renders through Table.
func (b BaseStrategy) ConvertToTable(_ context.Context, obj runtime.Object, opts *metav1.TableOptions) (*metav1.Table, error) {
	return b.Table.ConvertToTable(obj, opts)
}
