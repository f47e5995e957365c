package auth

import (
	"slices"
	"strings"
)

// Request describes what a user asks to do, for the authorizer.
type Request struct {
	Verb        string // get, list, watch, create, update, patch, delete, deletecollection
	APIGroup    string
	Resource    string
	Subresource string
	Namespace   string
	Name        string
	Path        string // for non-resource requests
}

// Authorizer decides whether a user may make a request.
type Authorizer struct{}

// Authorize returns true when u may perform req. For now members of
// system:masters and system:nodes may do anything; every other user may
// only read discovery and health endpoints.
func (Authorizer) Authorize(u User, req Request) bool {
	if slices.Contains(u.Groups, GroupMasters) || slices.Contains(u.Groups, GroupNodes) {
		return true
	}
	if req.Resource == "" {
		switch req.Path {
		case "/version", "/healthz", "/livez", "/readyz", "/api", "/apis", "/openapi/v2":
			return true
		}
		return strings.HasPrefix(req.Path, "/api/") || strings.HasPrefix(req.Path, "/apis/") || strings.HasPrefix(req.Path, "/openapi/")
	}
	return false
}
