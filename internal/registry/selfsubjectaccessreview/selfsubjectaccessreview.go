// Package selfsubjectaccessreview is the registry entry for
// authorization.k8s.io/v1 selfsubjectaccessreviews (`kubectl auth
// can-i`): a create-only resource that is never stored; the edge answers
// it with the authorizer's decision.
package selfsubjectaccessreview

import (
	"context"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
)

// NewResource returns the selfsubjectaccessreviews resource.
func NewResource() *registry.Resource {
	return &registry.Resource{
		GVR:          authorizationv1.SchemeGroupVersion.WithResource("selfsubjectaccessreviews"),
		Kind:         "SelfSubjectAccessReview",
		ListKind:     "SelfSubjectAccessReviewList",
		SingularName: "selfsubjectaccessreview",
		New:          func() runtime.Object { return &authorizationv1.SelfSubjectAccessReview{} },
		NewList:      func() runtime.Object { return &metav1.List{} },
		Strategy:     Strategy{registry.ReviewStrategy{Resource: "selfsubjectaccessreviews"}},
	}
}

// Strategy validates reviews; nothing is stored.
type Strategy struct{ registry.ReviewStrategy }

var _ registry.Strategy = Strategy{}

// Validate is Kubernetes' ValidateSelfSubjectAccessReviewSpec: exactly
// one of resourceAttributes and nonResourceAttributes.
func (Strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return Validate(obj.(*authorizationv1.SelfSubjectAccessReview))
}

// Validate checks a review's spec.
func Validate(r *authorizationv1.SelfSubjectAccessReview) field.ErrorList {
	spec := field.NewPath("spec")
	ra, nra := r.Spec.ResourceAttributes, r.Spec.NonResourceAttributes
	switch {
	case ra != nil && nra != nil:
		return field.ErrorList{field.Invalid(spec.Child("nonResourceAttributes"), nra, `cannot be specified in combination with resourceAttributes`)}
	case ra == nil && nra == nil:
		return field.ErrorList{field.Invalid(spec.Child("resourceAttributes"), ra, `exactly one of nonResourceAttributes or resourceAttributes must be specified`)}
	}
	return nil
}
