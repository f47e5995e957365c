package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/peapod/peapod/internal/auth"
)

// User impersonation (`kubectl --as`, `--as-group`, `--as-uid`), as
// kube-apiserver's WithImpersonation filter: after authentication and
// before authorization, each Impersonate-* header is checked as the verb
// "impersonate" for the requesting user:
//
//	Impersonate-User: jane                        users "jane" (group "")
//	Impersonate-User: system:serviceaccount:ns:n  serviceaccounts "n" in namespace ns
//	Impersonate-Group: devs                       groups "devs" (group "")
//	Impersonate-Uid: 42                           uids "42" (authentication.k8s.io)
//	Impersonate-Extra-<key>: v                    userextras/<key> "v" (authentication.k8s.io)
//
// and, when all are allowed, the impersonated user replaces the
// requester for the rest of the request. Groups, a uid or extras without
// Impersonate-User are a 400.

const (
	impersonateVerb = "impersonate"
	groupAnonymous  = "system:unauthenticated"
	userAnonymous   = "system:anonymous"
)

// impersonationRequest is one attribute asked for: an ObjectReference, as
// kube's buildImpersonationRequests (whose %v formatting shows in the
// "without impersonating a user" message).
type impersonationRequest = corev1.ObjectReference

// buildImpersonationRequests returns what the headers ask to impersonate,
// in kube's order: the user, groups, extras, the uid.
func buildImpersonationRequests(h http.Header) ([]impersonationRequest, error) {
	var reqs []impersonationRequest
	requestedUser := h.Get(authenticationv1.ImpersonateUserHeader)
	hasUser := requestedUser != ""
	if hasUser {
		if ns, name, ok := splitServiceAccountUser(requestedUser); ok {
			reqs = append(reqs, impersonationRequest{Kind: "ServiceAccount", Namespace: ns, Name: name})
		} else {
			reqs = append(reqs, impersonationRequest{Kind: "User", Name: requestedUser})
		}
	}
	groups := h.Values(authenticationv1.ImpersonateGroupHeader)
	for _, g := range groups {
		reqs = append(reqs, impersonationRequest{Kind: "Group", Name: g})
	}
	// Header names are canonicalized by net/http; kube lowercases the key
	// and then %-unescapes it. Sorted for a stable order (kube ranges
	// over the map).
	var extraHeaders []string
	for name := range h {
		if strings.HasPrefix(name, authenticationv1.ImpersonateUserExtraHeaderPrefix) {
			extraHeaders = append(extraHeaders, name)
		}
	}
	slices.Sort(extraHeaders)
	for _, name := range extraHeaders {
		key := unescapeExtraKey(strings.ToLower(name[len(authenticationv1.ImpersonateUserExtraHeaderPrefix):]))
		for _, v := range h[name] {
			reqs = append(reqs, impersonationRequest{Kind: "UserExtra", APIVersion: authenticationv1.SchemeGroupVersion.String(),
				Name: v, FieldPath: key})
		}
	}
	uid := h.Get(authenticationv1.ImpersonateUIDHeader)
	if uid != "" {
		reqs = append(reqs, impersonationRequest{Kind: "UID", APIVersion: authenticationv1.SchemeGroupVersion.String(), Name: uid})
	}
	if (len(groups) > 0 || len(extraHeaders) > 0 || uid != "") && !hasUser {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("requested %v without impersonating a user", reqs))
	}
	return reqs, nil
}

// splitServiceAccountUser splits system:serviceaccount:<ns>:<name>, as
// kube's serviceaccount.SplitUsername (both parts non-empty, no extra
// colon).
func splitServiceAccountUser(u string) (ns, name string, ok bool) {
	rest, ok := strings.CutPrefix(u, auth.ServiceAccountPrefix)
	if !ok {
		return "", "", false
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// unescapeExtraKey %-decodes an extra key, keeping it as sent when it is
// not valid %-encoding (kube's unescapeExtraKey).
func unescapeExtraKey(k string) string {
	if d, err := url.PathUnescape(k); err == nil {
		return d
	}
	return k
}

// impersonate returns the user the request acts as: requester itself when
// no Impersonate-* header is set, else the impersonated user once every
// requested attribute is authorized for requester. The headers are
// removed from r. Errors are API errors (400, 403).
func (s *Server) impersonate(ctx context.Context, r *http.Request, requester auth.User) (auth.User, error) {
	reqs, err := buildImpersonationRequests(r.Header)
	if err != nil || len(reqs) == 0 {
		return requester, err
	}
	groupsSpecified := len(r.Header.Values(authenticationv1.ImpersonateGroupHeader)) > 0
	u := auth.User{Groups: []string{}}
	for _, ir := range reqs {
		req := auth.Request{Verb: impersonateVerb, Namespace: ir.Namespace, Name: ir.Name}
		switch ir.Kind {
		case "ServiceAccount":
			req.Resource = "serviceaccounts"
			u.Name = auth.ServiceAccountPrefix + ir.Namespace + ":" + ir.Name
			if !groupsSpecified {
				u.Groups = []string{auth.GroupServiceAccounts, auth.GroupServiceAccounts + ":" + ir.Namespace}
			}
		case "User":
			req.Resource = "users"
			u.Name = ir.Name
		case "Group":
			req.Resource = "groups"
			u.Groups = append(u.Groups, ir.Name)
		case "UserExtra":
			req.APIGroup, req.Resource, req.Subresource = authenticationv1.GroupName, "userextras", ir.FieldPath
			if u.Extra == nil {
				u.Extra = map[string][]string{}
			}
			u.Extra[ir.FieldPath] = append(u.Extra[ir.FieldPath], ir.Name)
		case "UID":
			req.APIGroup, req.Resource = authenticationv1.GroupName, "uids"
			u.UID = ir.Name
		}
		if s.cfg.Authorizer != nil && !s.cfg.Authorizer.Authorize(ctx, requester, req) {
			return auth.User{}, impersonationForbidden(requester, req)
		}
	}
	// kube adds system:authenticated to a non-anonymous user unless
	// system:authenticated or system:unauthenticated was asked for, and
	// system:unauthenticated to system:anonymous.
	if u.Name != userAnonymous {
		if !slices.Contains(u.Groups, auth.GroupAuthenticated) && !slices.Contains(u.Groups, groupAnonymous) {
			u.Groups = append(u.Groups, auth.GroupAuthenticated)
		}
	} else if !slices.Contains(u.Groups, groupAnonymous) {
		u.Groups = append(u.Groups, groupAnonymous)
	}
	r.Header.Del(authenticationv1.ImpersonateUserHeader)
	r.Header.Del(authenticationv1.ImpersonateGroupHeader)
	r.Header.Del(authenticationv1.ImpersonateUIDHeader)
	for name := range r.Header {
		if strings.HasPrefix(name, authenticationv1.ImpersonateUserExtraHeaderPrefix) {
			r.Header.Del(name)
		}
	}
	s.cfg.Log.Debug("impersonating", "user", userString(requester), "as", userString(u), "method", r.Method, "path", r.URL.Path)
	return u, nil
}

// impersonationForbidden is kube's responsewriters.Forbidden error for
// u denied the resource request req: `<resource> "<name>" is forbidden:
// User "<u>" cannot <verb> resource "<resource>[/<sub>]" in API group
// "<group>" in the namespace "<ns>"` (or "at the cluster scope").
func impersonationForbidden(u auth.User, req auth.Request) error {
	gr := schema.GroupResource{Group: req.APIGroup, Resource: req.Resource}
	resource := req.Resource
	if req.Subresource != "" {
		resource += "/" + req.Subresource
	}
	msg := fmt.Sprintf("User %q cannot %s resource %q in API group %q", u.Name, req.Verb, resource, req.APIGroup)
	if req.Namespace != "" {
		msg += fmt.Sprintf(" in the namespace %q", req.Namespace)
	} else {
		msg += " at the cluster scope"
	}
	return apierrors.NewForbidden(gr, req.Name, errors.New(msg))
}

// userString is kube's httplog form of a user: name[group,...].
func userString(u auth.User) string {
	name := u.Name
	if name == "" {
		name = "<empty>"
	}
	if len(u.Groups) > 0 {
		name += "[" + strings.Join(u.Groups, ",") + "]"
	}
	return name
}
