package apiserver

import (
	"net/http"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/peapod/peapod/internal/registry"
)

// route dispatches a request to the non-resource endpoints or to a verb
// handler for a resource.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/version" || p == "/version/":
		s.serveVersion(w, r)
		return
	case p == "/healthz" || p == "/livez" || p == "/readyz" || strings.HasPrefix(p, "/healthz/") || strings.HasPrefix(p, "/livez/") || strings.HasPrefix(p, "/readyz/"):
		s.serveHealth(w, r)
		return
	case p == "/metrics":
		s.serveMetrics(w, r)
		return
	case strings.HasPrefix(p, "/debug/pprof"):
		s.servePprof(w, r)
		return
	case p == "/api" || p == "/api/":
		s.serveCoreDiscovery(w, r)
		return
	case p == "/apis" || p == "/apis/":
		s.serveGroupsDiscovery(w, r)
		return
	case p == "/openapi/v2":
		s.serveOpenAPIV2(w, r)
		return
	case p == "/openapi/v3" || strings.HasPrefix(p, "/openapi/v3/"):
		s.serveOpenAPIV3(w, r)
		return
	}
	info := parseRequestInfo(r)
	if !strings.HasPrefix(p, "/api/") && !strings.HasPrefix(p, "/apis/") {
		s.notFound(w, r)
		return
	}
	if !info.IsResource {
		parts := splitPath(p)
		switch {
		case len(parts) == 2 && parts[0] == "apis":
			s.serveGroupDiscovery(w, r, parts[1])
		case (len(parts) == 2 && parts[0] == "api") || (len(parts) == 3 && parts[0] == "apis"):
			s.serveResourceDiscovery(w, r, info.GV)
		default:
			s.notFound(w, r)
		}
		return
	}
	res := s.lookup(info.GV, info.Resource)
	if res == nil || (info.Namespace != "" && !res.Namespaced) ||
		(info.Namespace == "" && res.Namespaced && info.Verb != "list" && info.Verb != "watch") {
		s.notFound(w, r)
		return
	}
	rq := &request{s: s, w: w, r: r, info: info, res: res,
		gr: schema.GroupResource{Group: res.GVR.Group, Resource: res.GVR.Resource}}
	if isSelfSubjectAccessReview(rq) {
		s.serveSelfSubjectAccessReview(rq)
		return
	}
	if isSelfSubjectReview(rq) {
		s.serveSelfSubjectReview(rq)
		return
	}
	if info.Subresource != "" {
		s.serveSubresource(rq)
		return
	}
	switch info.Verb {
	case "get":
		s.serveGet(rq)
	case "list":
		s.serveList(rq)
	case "watch":
		s.serveWatch(rq)
	case "create":
		s.serveCreate(rq)
	case "update":
		s.serveUpdate(rq, "")
	case "patch":
		s.servePatch(rq, "")
	case "delete":
		s.serveDelete(rq)
	case "deletecollection":
		s.serveDeleteCollection(rq)
	default:
		s.methodNotAllowed(rq)
	}
}

// request is one resource request being served.
type request struct {
	s    *Server
	w    http.ResponseWriter
	r    *http.Request
	info requestInfo
	res  *registry.Resource
	gr   schema.GroupResource
}

func (rq *request) fail(err error) { rq.s.writeError(rq.w, rq.r, err, rq.gr, rq.info.Name) }

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.writeStatus(w, r, &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusNotFound,
		Reason: metav1.StatusReasonNotFound, Message: "the server could not find the requested resource",
		Details: &metav1.StatusDetails{}})
}

func (s *Server) methodNotAllowed(rq *request) {
	s.writeStatus(rq.w, rq.r, &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusMethodNotAllowed,
		Reason: metav1.StatusReasonMethodNotAllowed, Message: "the server does not allow this method on the requested resource"})
}

// hasSubresource reports whether res serves sub.
func hasSubresource(res *registry.Resource, sub string) bool {
	for _, s := range subresources(res) {
		if s == sub {
			return true
		}
	}
	return false
}

// subresources are the resource's declared subresources plus the ones the
// edge implements by itself for a kind: namespaces/finalize (the namespace
// controller's way to release a terminating namespace).
func subresources(res *registry.Resource) []string {
	if res.GVR.Group == "" && res.GVR.Resource == "namespaces" {
		for _, s := range res.Subresources {
			if s == "finalize" {
				return res.Subresources
			}
		}
		return append(append([]string{}, res.Subresources...), "finalize")
	}
	return res.Subresources
}

// serveSubresource dispatches status, finalize, ephemeralcontainers,
// binding, token and the node proxy subresources.
func (s *Server) serveSubresource(rq *request) {
	sub := rq.info.Subresource
	if !hasSubresource(rq.res, sub) || rq.info.Name == "" {
		s.notFound(rq.w, rq.r)
		return
	}
	switch sub {
	case "status", "finalize", "ephemeralcontainers":
		switch rq.info.Verb {
		case "get":
			s.serveGet(rq)
		case "update":
			s.serveUpdate(rq, sub)
		case "patch":
			s.servePatch(rq, sub)
		default:
			s.methodNotAllowed(rq)
		}
	case "binding":
		if rq.info.Verb != "create" {
			s.methodNotAllowed(rq)
			return
		}
		s.serveBinding(rq)
	case "token":
		if rq.info.Verb != "create" {
			s.methodNotAllowed(rq)
			return
		}
		s.serveTokenRequest(rq)
	case "log", "exec", "attach", "portforward":
		s.serveNodeProxy(rq)
	default:
		s.notFound(rq.w, rq.r)
	}
}
