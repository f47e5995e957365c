package apiserver

import (
	"net/http"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/peapod/peapod/internal/auth"
)

// isSelfSubjectAccessReview reports whether rq is for
// authorization.k8s.io selfsubjectaccessreviews, which the edge answers
// itself (nothing is stored).
func isSelfSubjectAccessReview(rq *request) bool {
	return rq.res.GVR.Group == authorizationv1.GroupName && rq.res.GVR.Resource == "selfsubjectaccessreviews"
}

// serveSelfSubjectAccessReview answers `kubectl auth can-i`: the
// requesting user's authorizer decision on the reviewed attributes.
func (s *Server) serveSelfSubjectAccessReview(rq *request) {
	obj, ok := s.decodeReview(rq)
	if !ok {
		return
	}
	review := obj.(*authorizationv1.SelfSubjectAccessReview)
	if errs := rq.res.Strategy.Validate(rq.r.Context(), review); len(errs) > 0 {
		rq.fail(invalid(rq.res.GVK().GroupKind(), "", errs))
		return
	}
	u, _ := auth.UserFrom(rq.r.Context())
	var req auth.Request
	if ra := review.Spec.ResourceAttributes; ra != nil {
		req = auth.Request{Verb: ra.Verb, APIGroup: ra.Group, Resource: ra.Resource, Subresource: ra.Subresource,
			Namespace: ra.Namespace, Name: ra.Name}
		if ra.FieldSelector != nil {
			req.FieldSelector = ra.FieldSelector.RawSelector
		}
	} else {
		req = auth.Request{Verb: review.Spec.NonResourceAttributes.Verb, Path: review.Spec.NonResourceAttributes.Path}
	}
	allowed := s.cfg.Authorizer == nil || s.cfg.Authorizer.Authorize(rq.r.Context(), u, req)
	review.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: allowed}
	if allowed {
		review.Status.Reason = "allowed by the peapod authorizer (system:masters, Node or RBAC)"
	}
	review.CreationTimestamp = metav1.Time{}
	review.TypeMeta = metav1.TypeMeta{Kind: "SelfSubjectAccessReview", APIVersion: authorizationv1.SchemeGroupVersion.String()}
	s.writeJSON(rq.w, rq.r, http.StatusCreated, review)
}

// isSelfSubjectReview reports whether rq is for authentication.k8s.io
// selfsubjectreviews (`kubectl auth whoami`), answered at the edge.
func isSelfSubjectReview(rq *request) bool {
	return rq.res.GVR.Group == authenticationv1.GroupName && rq.res.GVR.Resource == "selfsubjectreviews"
}

// serveSelfSubjectReview answers `kubectl auth whoami`: the request's
// user (after impersonation) as status.userInfo.
func (s *Server) serveSelfSubjectReview(rq *request) {
	obj, ok := s.decodeReview(rq)
	if !ok {
		return
	}
	review := obj.(*authenticationv1.SelfSubjectReview)
	u, _ := auth.UserFrom(rq.r.Context())
	info := authenticationv1.UserInfo{Username: u.Name, UID: u.UID, Groups: u.Groups}
	if len(u.Extra) > 0 {
		info.Extra = make(map[string]authenticationv1.ExtraValue, len(u.Extra))
		for k, v := range u.Extra {
			info.Extra[k] = v
		}
	}
	review.Status = authenticationv1.SelfSubjectReviewStatus{UserInfo: info}
	review.CreationTimestamp = metav1.Time{}
	review.TypeMeta = metav1.TypeMeta{Kind: "SelfSubjectReview", APIVersion: authenticationv1.SchemeGroupVersion.String()}
	s.writeJSON(rq.w, rq.r, http.StatusCreated, review)
}

// decodeReview reads the body of a review that the edge answers itself
// (create only, no subresource); false when it answered with an error.
func (s *Server) decodeReview(rq *request) (runtime.Object, bool) {
	if rq.info.Verb != "create" || rq.info.Subresource != "" {
		s.methodNotAllowed(rq)
		return nil, false
	}
	body, err := readBody(rq.r, s.cfg.MaxRequestBytes)
	if err != nil {
		rq.fail(err)
		return nil, false
	}
	obj, _, err := s.decoder().decode(body, mediaType(rq.r), rq.res.GVK(), rq.res.New(), validationIgnore)
	if err != nil {
		rq.fail(err)
		return nil, false
	}
	return obj, true
}
