package auth

import (
	"context"
	"slices"
)

// Request describes what a user asks to do, for the authorizer.
type Request struct {
	Verb          string // get, list, watch, create, update, patch, delete, deletecollection; the lowercased HTTP method for non-resource paths
	APIGroup      string
	Resource      string
	Subresource   string
	Namespace     string
	Name          string
	Path          string // for non-resource requests
	FieldSelector string // of list and watch requests (the node authorizer reads metadata.name)
}

// Authorizer is the authorization chain, as kube-apiserver's
// --authorization-mode=Node,RBAC behind the system:masters short-cut:
// members of system:masters may do anything, node identities get what the
// Node authorizer grants, and RBAC decides the rest. With RBAC nil,
// authenticated users may only read discovery (tests).
type Authorizer struct {
	Node *NodeAuthorizer // may be nil
	RBAC *RBAC           // may be nil
}

// Authorize returns true when u may perform req.
func (a Authorizer) Authorize(ctx context.Context, u User, req Request) bool {
	if slices.Contains(u.Groups, GroupMasters) {
		return true
	}
	if a.Node != nil && a.Node.Authorize(ctx, u, req) {
		return true
	}
	if a.RBAC == nil {
		return req.Resource == "" && slices.Contains(u.Groups, GroupAuthenticated) && nonResourceURLMatches(DiscoveryPaths, req.Path)
	}
	return a.RBAC.Authorize(ctx, u, req)
}
