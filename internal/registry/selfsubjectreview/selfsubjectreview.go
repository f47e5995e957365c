// Package selfsubjectreview is the registry entry for
// authentication.k8s.io/v1 selfsubjectreviews (`kubectl auth whoami`): a
// create-only resource that is never stored; the edge answers it with the
// request's user (the impersonated one under Impersonate-User).
package selfsubjectreview

import (
	"context"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
		Strategy:     Strategy{registry.ReviewStrategy{Resource: "selfsubjectreviews"}},
	}
}

// Strategy accepts any review (it has no spec); nothing is stored.
type Strategy struct{ registry.ReviewStrategy }

var _ registry.Strategy = Strategy{}

// Validate accepts every review, as Kubernetes' (there is no spec).
func (Strategy) Validate(context.Context, runtime.Object) field.ErrorList { return nil }
