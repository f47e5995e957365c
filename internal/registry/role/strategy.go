package role

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
)

// FuncStrategy is the registry.Strategy shared by the four RBAC
// resources: everything is a client-settable spec, differing only in
// validation, defaults and table.
type FuncStrategy struct {
	Table *registry.TableConvertor
	// Meta returns the object's metadata.
	Meta func(obj runtime.Object) *metav1.ObjectMeta
	// Default fills in API defaults (may be nil).
	Default func(obj runtime.Object)
	// ValidateFn checks a new object; ValidateUpdateFn an update (metadata
	// update rules are added by the strategy).
	ValidateFn       func(obj runtime.Object) field.ErrorList
	ValidateUpdateFn func(obj, old runtime.Object) field.ErrorList
}

var (
	_ registry.Strategy    = (*FuncStrategy)(nil)
	_ registry.FieldSetter = (*FuncStrategy)(nil)
)

// PrepareForCreate clears metadata.generation and applies defaults.
func (s *FuncStrategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	s.Meta(obj).Generation = 0
	if s.Default != nil {
		s.Default(obj)
	}
}

// PrepareForUpdate applies defaults.
func (s *FuncStrategy) PrepareForUpdate(_ context.Context, obj, _ runtime.Object) {
	if s.Default != nil {
		s.Default(obj)
	}
}

// Validate checks a new object.
func (s *FuncStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return s.ValidateFn(obj)
}

// ValidateUpdate checks an update: metadata rules, then the object's.
func (s *FuncStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	errs := registry.ValidateObjectMetaUpdate(s.Meta(obj), s.Meta(old))
	errs = append(errs, s.ValidateFn(obj)...)
	if s.ValidateUpdateFn != nil {
		errs = append(errs, s.ValidateUpdateFn(obj, old)...)
	}
	return errs
}

// AllowCreateOnUpdate is true for RBAC objects, as in Kubernetes
// (kubectl auth reconcile and apply rely on it).
func (*FuncStrategy) AllowCreateOnUpdate() bool { return true }

// GetAttrs returns labels and metadata.name, metadata.namespace.
func (s *FuncStrategy) GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	return registry.Attrs(s.Meta(obj), nil)
}

// SelectableFields lists the resource-specific field selector keys.
func (*FuncStrategy) SelectableFields() []string { return registry.SelectableFields() }

// ConvertToTable renders the table.
func (s *FuncStrategy) ConvertToTable(_ context.Context, obj runtime.Object, opts *metav1.TableOptions) (*metav1.Table, error) {
	return s.Table.ConvertToTable(obj, opts)
}
