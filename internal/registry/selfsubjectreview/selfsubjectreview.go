// Package selfsubjectreview is the registry entry for
// authentication.k8s.io/v1 selfsubjectreviews (`kubectl auth whoami`): a
// create-only resource that is never stored; the edge answers it with the
// request's user (the impersonated one under Impersonate-User).
package selfsubjectreview

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
)

// NewResource returns the selfsubjectreviews resource.
func NewResource() *registry.Resource {
	return &registry.Resource{
		GVR:          authenticationv1.SchemeGroupVersion.WithResource("selfsubjectreviews"),
		Kind:         "SelfSubjectReview",
		ListKind:     "SelfSubjectReviewList",
		SingularName: "selfsubjectreview",
		New:          func() runtime.Object { return &authenticationv1.SelfSubjectReview{} },
		NewList:      func() runtime.Object { return &metav1.List{} },
		Strategy:     Strategy{},
	}
}

// Strategy accepts any review (it has no spec); nothing is stored.
type Strategy struct{}

var _ registry.Strategy = Strategy{}

// PrepareForCreate does nothing.
func (Strategy) PrepareForCreate(context.Context, runtime.Object) {}

// Validate accepts every review, as Kubernetes' (there is no spec).
func (Strategy) Validate(context.Context, runtime.Object) field.ErrorList { return nil }

// PrepareForUpdate does nothing.
func (Strategy) PrepareForUpdate(context.Context, runtime.Object, runtime.Object) {}

// ValidateUpdate: reviews are never updated.
func (Strategy) ValidateUpdate(context.Context, runtime.Object, runtime.Object) field.ErrorList {
	return field.ErrorList{field.Forbidden(field.NewPath(""), "selfsubjectreviews cannot be updated")}
}

// AllowCreateOnUpdate is false.
func (Strategy) AllowCreateOnUpdate() bool { return false }

// GetAttrs returns no labels or fields.
func (Strategy) GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	return registry.Attrs(&obj.(*authenticationv1.SelfSubjectReview).ObjectMeta, nil)
}

// ConvertToTable is not supported (reviews are never listed).
func (Strategy) ConvertToTable(context.Context, runtime.Object, *metav1.TableOptions) (*metav1.Table, error) {
	return nil, fmt.Errorf("selfsubjectreviews have no table")
}
