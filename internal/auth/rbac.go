package auth

import (
	"context"

	rbacv1 "k8s.io/api/rbac/v1"
)

// RBACSource reads the RBAC objects. Missing roles are (nil, nil).
type RBACSource interface {
	ClusterRoleBindings(ctx context.Context) ([]rbacv1.ClusterRoleBinding, error)
	RoleBindings(ctx context.Context, namespace string) ([]rbacv1.RoleBinding, error)
	ClusterRole(ctx context.Context, name string) (*rbacv1.ClusterRole, error)
	Role(ctx context.Context, namespace, name string) (*rbacv1.Role, error)
}

// RBAC is the RBAC authorizer: a request is allowed when a
// ClusterRoleBinding, or a RoleBinding of the request's namespace, binds
// the user (by name, group or service account) to a role with a rule that
// grants it. A RoleBinding to a ClusterRole grants its rules only in the
// binding's namespace. A lookup error denies.
type RBAC struct{ Source RBACSource }

// Authorize implements the RBAC decision.
func (a *RBAC) Authorize(ctx context.Context, u User, req Request) bool {
	crbs, err := a.Source.ClusterRoleBindings(ctx)
	if err != nil {
		return false
	}
	for i := range crbs {
		b := &crbs[i]
		if b.RoleRef.Kind != "ClusterRole" || !SubjectMatches(u, b.Subjects, "") {
			continue
		}
		if cr, err := a.Source.ClusterRole(ctx, b.RoleRef.Name); err == nil && cr != nil && RulesAllow(cr.Rules, req) {
			return true
		}
	}
	if req.Namespace == "" {
		return false
	}
	rbs, err := a.Source.RoleBindings(ctx, req.Namespace)
	if err != nil {
		return false
	}
	for i := range rbs {
		b := &rbs[i]
		if !SubjectMatches(u, b.Subjects, b.Namespace) {
			continue
		}
		var rules []rbacv1.PolicyRule
		switch b.RoleRef.Kind {
		case "ClusterRole":
			if cr, err := a.Source.ClusterRole(ctx, b.RoleRef.Name); err == nil && cr != nil {
				rules = cr.Rules
			}
		case "Role":
			if r, err := a.Source.Role(ctx, b.Namespace, b.RoleRef.Name); err == nil && r != nil {
				rules = r.Rules
			}
		}
		if RulesAllow(nonResourceFree(rules), req) {
			return true
		}
	}
	return false
}

// nonResourceFree drops non-resource rules: a RoleBinding never grants
// non-resource URLs.
func nonResourceFree(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	out := rules[:0:0]
	for _, r := range rules {
		if len(r.NonResourceURLs) == 0 {
			out = append(out, r)
		}
	}
	return out
}
