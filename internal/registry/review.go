package registry

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ReviewStrategy is the part of a Strategy that every review resource
// shares (selfsubjectaccessreviews, selfsubjectreviews): the edge answers
// a create itself, nothing is stored, updated or listed. A review's
// strategy embeds it and adds Validate.
type ReviewStrategy struct {
	// Resource names the reviews in errors ("selfsubjectreviews").
	Resource string
}

// PrepareForCreate does nothing.
func (ReviewStrategy) PrepareForCreate(context.Context, runtime.Object) {}

// PrepareForUpdate does nothing.
func (ReviewStrategy) PrepareForUpdate(context.Context, runtime.Object, runtime.Object) {}

// ValidateUpdate: reviews are never updated.
func (s ReviewStrategy) ValidateUpdate(context.Context, runtime.Object, runtime.Object) field.ErrorList {
	return field.ErrorList{field.Forbidden(field.NewPath(""), s.Resource+" cannot be updated")}
}

// AllowCreateOnUpdate is false.
func (ReviewStrategy) AllowCreateOnUpdate() bool { return false }

// GetAttrs returns the review's labels and no fields beyond the name.
func (ReviewStrategy) GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	a, ok := obj.(metav1.ObjectMetaAccessor)
	if !ok {
		return nil, nil, fmt.Errorf("%T has no metadata", obj)
	}
	m, ok := a.GetObjectMeta().(*metav1.ObjectMeta)
	if !ok {
		return nil, nil, fmt.Errorf("%T has no ObjectMeta", obj)
	}
	return Attrs(m, nil)
}

// ConvertToTable is not supported (reviews are never listed).
func (s ReviewStrategy) ConvertToTable(context.Context, runtime.Object, *metav1.TableOptions) (*metav1.Table, error) {
	return nil, fmt.Errorf("%s have no table", s.Resource)
}
