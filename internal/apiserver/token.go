package apiserver

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/auth"
)

// TokenRequest limits, as kube-apiserver's.
const (
	defaultTokenExpiration = 3600
	minTokenExpiration     = 600
)

// serveTokenRequest answers POST serviceaccounts/<name>/token with a
// signed JWT for the service account (optionally bound to a pod).
func (s *Server) serveTokenRequest(rq *request) {
	if s.cfg.TokenSigner == nil {
		rq.fail(apierrors.NewServiceUnavailable("token signing is not configured"))
		return
	}
	body, err := readBody(rq.r, s.cfg.MaxRequestBytes)
	if err != nil {
		rq.fail(err)
		return
	}
	gvk := authenticationv1.SchemeGroupVersion.WithKind("TokenRequest")
	obj, _, err := s.decoder().decode(body, mediaType(rq.r), gvk, &authenticationv1.TokenRequest{}, validationIgnore)
	if err != nil {
		rq.fail(err)
		return
	}
	tr := obj.(*authenticationv1.TokenRequest)
	ctx := rq.r.Context()
	sa := &corev1.ServiceAccount{}
	if err := s.cfg.Storage.Get(ctx, objectKey(rq.res, rq.info.Namespace, rq.info.Name), "", sa, false); err != nil {
		rq.fail(err)
		return
	}
	exp := int64(defaultTokenExpiration)
	if tr.Spec.ExpirationSeconds != nil {
		exp = *tr.Spec.ExpirationSeconds
	}
	if exp < minTokenExpiration {
		rq.fail(apierrors.NewInvalid(gvk.GroupKind(), rq.info.Name, field.ErrorList{
			field.Invalid(field.NewPath("spec", "expirationSeconds"), exp, "may not specify a duration less than 10 minutes")}))
		return
	}
	if exp > 1<<32 {
		exp = 1 << 32
	}
	now := s.cfg.Now()
	claims := auth.SAClaims{
		Subject:   auth.ServiceAccountPrefix + sa.Namespace + ":" + sa.Name,
		Audience:  tr.Spec.Audiences,
		IssuedAt:  now.Unix(),
		NotBefore: now.Unix(),
		Expiry:    now.Add(time.Duration(exp) * time.Second).Unix(),
		K8s:       auth.K8sClaims{Namespace: sa.Namespace, ServiceAccount: auth.Ref{Name: sa.Name, UID: string(sa.UID)}},
	}
	if len(claims.Audience) == 0 {
		claims.Audience = []string{auth.DefaultIssuer}
	}
	if ref := tr.Spec.BoundObjectRef; ref != nil {
		if ref.Kind != "Pod" {
			rq.fail(badRequest("boundObjectRef: only Pod is supported, not %q", ref.Kind))
			return
		}
		podRes := s.lookup(schema.GroupVersion{Version: "v1"}, "pods")
		pod := &corev1.Pod{}
		if podRes == nil {
			rq.fail(errors.New("pods are not served"))
			return
		}
		if err := s.cfg.Storage.Get(ctx, objectKey(podRes, sa.Namespace, ref.Name), "", pod, false); err != nil {
			s.writeError(rq.w, rq.r, err, schema.GroupResource{Resource: "pods"}, ref.Name)
			return
		}
		if ref.UID != "" && ref.UID != pod.UID {
			rq.fail(apierrors.NewConflict(schema.GroupResource{Resource: "pods"}, ref.Name, fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID)))
			return
		}
		claims.K8s.Pod = &auth.Ref{Name: pod.Name, UID: string(pod.UID)}
		tr.Spec.BoundObjectRef.UID = pod.UID
	}
	tok, err := s.cfg.TokenSigner.Issue(claims)
	if err != nil {
		rq.fail(apierrors.NewInternalError(err))
		return
	}
	tr.Spec.Audiences = claims.Audience
	tr.Spec.ExpirationSeconds = &exp
	tr.Status = authenticationv1.TokenRequestStatus{Token: tok, ExpirationTimestamp: metav1.NewTime(time.Unix(claims.Expiry, 0))}
	tr.Name, tr.Namespace = sa.Name, sa.Namespace
	tr.CreationTimestamp = metav1.NewTime(now.Truncate(time.Second))
	tr.TypeMeta = metav1.TypeMeta{Kind: "TokenRequest", APIVersion: "authentication.k8s.io/v1"}
	s.writeJSON(rq.w, rq.r, http.StatusCreated, tr)
}
