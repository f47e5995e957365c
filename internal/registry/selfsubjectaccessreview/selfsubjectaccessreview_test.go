package selfsubjectaccessreview

import (
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
)

func TestValidate(t *testing.T) {
	ra := &authorizationv1.ResourceAttributes{Verb: "list", Resource: "pods"}
	nra := &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/api"}
	cases := []struct {
		name string
		spec authorizationv1.SelfSubjectAccessReviewSpec
		errs int
	}{
		{"resource", authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: ra}, 0},
		{"non-resource", authorizationv1.SelfSubjectAccessReviewSpec{NonResourceAttributes: nra}, 0},
		{"both", authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: ra, NonResourceAttributes: nra}, 1},
		{"neither", authorizationv1.SelfSubjectAccessReviewSpec{}, 1},
	}
	for _, c := range cases {
		if errs := Validate(&authorizationv1.SelfSubjectAccessReview{Spec: c.spec}); len(errs) != c.errs {
			t.Errorf("%s: %v", c.name, errs)
		}
	}
}
