package apiserver

import (
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// requestInfo is what the URL and method say about a request, after
// k8s.io/apiserver's RequestInfoFactory, simplified.
type requestInfo struct {
	IsResource  bool
	Path        string
	Verb        string // get list watch create update patch delete deletecollection (or the HTTP method for non-resource)
	GV          schema.GroupVersion
	Namespace   string
	Resource    string
	Name        string
	Subresource string
	Parts       []string // remaining path segments after the subresource (proxy paths)
}

// namespaceSubresources are subresources of a namespace object rather than
// collections inside it.
var namespaceSubresources = map[string]bool{"status": true, "finalize": true}

// parseRequestInfo splits /api/v1/... and /apis/<g>/<v>/... paths.
func parseRequestInfo(r *http.Request) requestInfo {
	info := requestInfo{Path: r.URL.Path, Verb: strings.ToLower(r.Method)}
	parts := splitPath(r.URL.Path)
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		info.GV = schema.GroupVersion{Version: parts[1]}
		parts = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		info.GV = schema.GroupVersion{Group: parts[1], Version: parts[2]}
		parts = parts[3:]
	default:
		return info
	}
	if len(parts) == 0 {
		return info // group-version discovery
	}
	info.IsResource = true
	watchPrefix := false
	if parts[0] == "watch" {
		watchPrefix = true
		parts = parts[1:]
	}
	if len(parts) >= 2 && parts[0] == "namespaces" {
		info.Namespace = parts[1]
		if len(parts) > 2 && !namespaceSubresources[parts[2]] {
			parts = parts[2:]
		} else {
			// the namespace object itself: /namespaces/<name>[/status]
			info.Namespace = ""
			info.Resource, info.Name = "namespaces", parts[1]
			if len(parts) > 2 {
				info.Subresource = parts[2]
				info.Parts = parts[3:]
			}
			info.Verb = resourceVerb(r, info, watchPrefix)
			return info
		}
	}
	if len(parts) == 0 {
		info.IsResource = false
		return info
	}
	info.Resource = parts[0]
	if len(parts) > 1 {
		info.Name = parts[1]
	}
	if len(parts) > 2 {
		info.Subresource = parts[2]
		info.Parts = parts[3:]
	}
	info.Verb = resourceVerb(r, info, watchPrefix)
	return info
}

func resourceVerb(r *http.Request, info requestInfo, watchPrefix bool) string {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if watchPrefix || isTrue(r.URL.Query().Get("watch")) {
			return "watch"
		}
		if info.Name == "" {
			return "list"
		}
		return "get"
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		if info.Name == "" {
			return "deletecollection"
		}
		return "delete"
	}
	return strings.ToLower(r.Method)
}

func isTrue(s string) bool { return s == "true" || s == "1" }

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
