package auth

import (
	"context"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeRBAC is an in-memory RBACSource.
type fakeRBAC struct {
	crbs  []rbacv1.ClusterRoleBinding
	rbs   []rbacv1.RoleBinding
	crs   map[string]*rbacv1.ClusterRole
	roles map[string]*rbacv1.Role // ns/name
}

var _ RBACSource = (*fakeRBAC)(nil)

func (f *fakeRBAC) ClusterRoleBindings(context.Context) ([]rbacv1.ClusterRoleBinding, error) {
	return f.crbs, nil
}

func (f *fakeRBAC) RoleBindings(_ context.Context, ns string) ([]rbacv1.RoleBinding, error) {
	var out []rbacv1.RoleBinding
	for _, b := range f.rbs {
		if b.Namespace == ns {
			out = append(out, b)
		}
	}
	return out, nil
}

func (f *fakeRBAC) ClusterRole(_ context.Context, name string) (*rbacv1.ClusterRole, error) {
	return f.crs[name], nil
}

func (f *fakeRBAC) Role(_ context.Context, ns, name string) (*rbacv1.Role, error) {
	return f.roles[ns+"/"+name], nil
}

func TestRuleAllows(t *testing.T) {
	r := func(verbs, groups, res, names []string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: res, ResourceNames: names}
	}
	s := func(v ...string) []string { return v }
	cases := []struct {
		name string
		rule rbacv1.PolicyRule
		req  Request
		want bool
	}{
		{"exact", r(s("get"), s(""), s("pods"), nil), Request{Verb: "get", Resource: "pods"}, true},
		{"wrong verb", r(s("get"), s(""), s("pods"), nil), Request{Verb: "list", Resource: "pods"}, false},
		{"wrong group", r(s("get"), s("apps"), s("pods"), nil), Request{Verb: "get", Resource: "pods"}, false},
		{"star verb group resource", r(s("*"), s("*"), s("*"), nil), Request{Verb: "delete", APIGroup: "x", Resource: "y", Subresource: "z"}, true},
		{"subresource needs its own rule", r(s("get"), s(""), s("pods"), nil), Request{Verb: "get", Resource: "pods", Subresource: "log"}, false},
		{"pods/log", r(s("get"), s(""), s("pods/log"), nil), Request{Verb: "get", Resource: "pods", Subresource: "log"}, true},
		{"*/status", r(s("get"), s(""), s("*/status"), nil), Request{Verb: "get", Resource: "pods", Subresource: "status"}, true},
		{"*/status not main resource", r(s("get"), s(""), s("*/status"), nil), Request{Verb: "get", Resource: "pods"}, false},
		{"resourceNames match", r(s("get"), s(""), s("secrets"), s("a")), Request{Verb: "get", Resource: "secrets", Name: "a"}, true},
		{"resourceNames other", r(s("get"), s(""), s("secrets"), s("a")), Request{Verb: "get", Resource: "secrets", Name: "b"}, false},
		{"resourceNames never list", r(s("list"), s(""), s("secrets"), s("a")), Request{Verb: "list", Resource: "secrets"}, false},
		{"nonResource exact", rbacv1.PolicyRule{Verbs: s("get"), NonResourceURLs: s("/healthz")}, Request{Verb: "get", Path: "/healthz"}, true},
		{"nonResource prefix", rbacv1.PolicyRule{Verbs: s("get"), NonResourceURLs: s("/apis/*")}, Request{Verb: "get", Path: "/apis/apps/v1"}, true},
		{"nonResource other", rbacv1.PolicyRule{Verbs: s("get"), NonResourceURLs: s("/healthz")}, Request{Verb: "get", Path: "/metrics"}, false},
		{"resource rule never grants a path", r(s("*"), s("*"), s("*"), nil), Request{Verb: "get", Path: "/metrics"}, false},
	}
	for _, c := range cases {
		if got := RuleAllows(&c.rule, c.req); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}

func TestRBACAuthorize(t *testing.T) {
	roles := BootstrapClusterRoles()
	crs := map[string]*rbacv1.ClusterRole{}
	for i := range roles {
		crs[roles[i].Name] = &roles[i]
	}
	src := &fakeRBAC{
		crbs: BootstrapClusterRoleBindings(),
		crs:  crs,
		rbs: []rbacv1.RoleBinding{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "view"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "default"}}}, // namespace defaults to the binding's
			{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "alice"}, RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "secret-reader"},
				Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "cluster-admin-here"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects: []rbacv1.Subject{{Kind: "Group", Name: "team-admins"}}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "edit"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "edit"},
				Subjects: []rbacv1.Subject{{Kind: "User", Name: "editor"}}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "admin"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "admin"},
				Subjects: []rbacv1.Subject{{Kind: "User", Name: "nsadmin"}}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "debugger"}, RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "debugger"},
				Subjects: []rbacv1.Subject{{Kind: "User", Name: "debugger"}}},
		},
		roles: map[string]*rbacv1.Role{
			"team/secret-reader": {Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"db"}}}},
			"team/debugger":      {Rules: []rbacv1.PolicyRule{{Verbs: []string{"patch", "update"}, APIGroups: []string{""}, Resources: []string{"pods/ephemeralcontainers"}}}},
		},
	}
	az := Authorizer{RBAC: &RBAC{Source: src}}
	sa := func(ns, name string) User {
		return User{Name: ServiceAccountPrefix + ns + ":" + name, Groups: []string{GroupServiceAccounts, GroupServiceAccounts + ":" + ns, GroupAuthenticated}}
	}
	alice := User{Name: "alice", Groups: []string{GroupAuthenticated}}
	teamAdmin := User{Name: "bob", Groups: []string{"team-admins", GroupAuthenticated}}
	editor := User{Name: "editor", Groups: []string{GroupAuthenticated}}
	nsAdmin := User{Name: "nsadmin", Groups: []string{GroupAuthenticated}}
	debugger := User{Name: "debugger", Groups: []string{GroupAuthenticated}}
	debug := func(ns string) Request {
		return Request{Verb: "patch", Resource: "pods", Subresource: "ephemeralcontainers", Namespace: ns, Name: "p"}
	}
	cases := []struct {
		name string
		u    User
		req  Request
		want bool
	}{
		{"masters", User{Name: "admin", Groups: []string{GroupMasters}}, Request{Verb: "delete", Resource: "nodes", Name: "n"}, true},
		{"discovery", sa("other", "x"), Request{Verb: "get", Path: "/apis/rbac.authorization.k8s.io/v1"}, true},
		{"version", sa("other", "x"), Request{Verb: "get", Path: "/version"}, true},
		{"no metrics", sa("other", "x"), Request{Verb: "get", Path: "/metrics"}, false},
		{"discovery needs authenticated", User{Name: "anon"}, Request{Verb: "get", Path: "/api"}, false},
		{"view binding lists pods", sa("team", "default"), Request{Verb: "list", Resource: "pods", Namespace: "team"}, true},
		{"view binding reads logs", sa("team", "default"), Request{Verb: "get", Resource: "pods", Subresource: "log", Namespace: "team", Name: "p"}, true},
		{"view no secrets", sa("team", "default"), Request{Verb: "get", Resource: "secrets", Namespace: "team", Name: "db"}, false},
		{"view no writes", sa("team", "default"), Request{Verb: "delete", Resource: "pods", Namespace: "team", Name: "p"}, false},
		{"view no exec", sa("team", "default"), Request{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "team", Name: "p"}, false},
		{"binding only in its namespace", sa("team", "default"), Request{Verb: "list", Resource: "pods", Namespace: "prod"}, false},
		{"not cluster-wide", sa("team", "default"), Request{Verb: "list", Resource: "pods"}, false},
		{"same name other namespace SA", sa("prod", "default"), Request{Verb: "list", Resource: "pods", Namespace: "team"}, false},
		{"role with resourceNames", alice, Request{Verb: "get", Resource: "secrets", Namespace: "team", Name: "db"}, true},
		{"role other name", alice, Request{Verb: "get", Resource: "secrets", Namespace: "team", Name: "other"}, false},
		{"role no list", alice, Request{Verb: "list", Resource: "secrets", Namespace: "team"}, false},
		{"cluster-admin via rolebinding: namespace", teamAdmin, Request{Verb: "delete", Resource: "secrets", Namespace: "team", Name: "x"}, true},
		{"cluster-admin via rolebinding: not elsewhere", teamAdmin, Request{Verb: "delete", Resource: "secrets", Namespace: "prod", Name: "x"}, false},
		{"cluster-admin via rolebinding: no nodes", teamAdmin, Request{Verb: "get", Resource: "nodes", Name: "n"}, false},
		// Kubernetes' admin and edit roles leave pods/ephemeralcontainers
		// out on purpose (kubernetes/kubernetes#109332, #121217): adding a
		// container to a running pod is granted on its own.
		{"admin exec", nsAdmin, Request{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "team", Name: "p"}, true},
		{"admin no ephemeral containers", nsAdmin, debug("team"), false},
		{"edit patches pods", editor, Request{Verb: "patch", Resource: "pods", Namespace: "team", Name: "p"}, true},
		{"edit no ephemeral containers", editor, debug("team"), false},
		{"edit no ephemeral containers update", editor, Request{Verb: "update", Resource: "pods", Subresource: "ephemeralcontainers", Namespace: "team", Name: "p"}, false},
		{"view no ephemeral containers", sa("team", "default"), debug("team"), false},
		{"cluster-admin ephemeral containers", teamAdmin, debug("team"), true},
		{"a role granting ephemeral containers", debugger, debug("team"), true},
		{"that role only in its namespace", debugger, debug("prod"), false},
	}
	for _, c := range cases {
		if got := az.Authorize(context.Background(), c.u, c.req); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
