package auth

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Bootstrap policy: the ClusterRoles and ClusterRoleBindings the server
// creates on start when missing (a subset of Kubernetes' bootstrap
// policy, flattened: no aggregation).

var (
	readVerbs  = []string{"get", "list", "watch"}
	writeVerbs = []string{"create", "update", "patch", "delete", "deletecollection"}
)

func rule(verbs []string, groups []string, resources ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: resources}
}

func bootstrapMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/bootstrapping": "rbac-defaults"},
		Annotations: map[string]string{"rbac.authorization.kubernetes.io/autoupdate": "true"}}
}

func viewRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		rule(readVerbs, []string{""}, "pods", "pods/log", "pods/status", "configmaps", "serviceaccounts", "events", "namespaces", "namespaces/status"),
		rule(readVerbs, []string{"events.k8s.io"}, "events"),
		rule(readVerbs, []string{"coordination.k8s.io"}, "leases"),
		rule(readVerbs, []string{"settings.k8s.io"}, "podpresets"),
	}
}

// editRules leave pods/ephemeralcontainers out, as Kubernetes' edit and
// admin roles do on purpose (kubernetes/kubernetes#109332, #121217):
// adding a container to a running pod bypasses what admission checked
// at create, so it is granted on its own (kubectl debug needs patch).
func editRules() []rbacv1.PolicyRule {
	all := append(append([]string{}, readVerbs...), writeVerbs...)
	return append(viewRules(),
		rule(all, []string{""}, "pods", "configmaps", "secrets", "serviceaccounts"),
		rule([]string{"create", "get"}, []string{""}, "pods/exec", "pods/attach", "pods/portforward"),
		rule([]string{"create"}, []string{""}, "serviceaccounts/token"),
		rule(all, []string{"coordination.k8s.io"}, "leases"),
		rule(all, []string{"settings.k8s.io"}, "podpresets"),
	)
}

func adminRules() []rbacv1.PolicyRule {
	all := append(append([]string{}, readVerbs...), writeVerbs...)
	return append(editRules(), rule(all, []string{rbacv1.GroupName}, "roles", "rolebindings"))
}

// DiscoveryPaths are the non-resource URLs every authenticated user may
// read (ClusterRole system:discovery).
var DiscoveryPaths = []string{"/api", "/api/*", "/apis", "/apis/*", "/version", "/version/", "/openapi", "/openapi/*", "/healthz", "/livez", "/readyz"}

// BootstrapClusterRoles are cluster-admin, admin, edit, view,
// system:discovery and system:basic-user (kubectl auth can-i and whoami).
// As in Kubernetes, none grants the verb impersonate (users, groups,
// serviceaccounts, uids, userextras) except cluster-admin's "*".
func BootstrapClusterRoles() []rbacv1.ClusterRole {
	return []rbacv1.ClusterRole{
		{ObjectMeta: bootstrapMeta("cluster-admin"), Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}},
			{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}},
		}},
		{ObjectMeta: bootstrapMeta("admin"), Rules: adminRules()},
		{ObjectMeta: bootstrapMeta("edit"), Rules: editRules()},
		{ObjectMeta: bootstrapMeta("view"), Rules: viewRules()},
		{ObjectMeta: bootstrapMeta("system:discovery"), Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: DiscoveryPaths}}},
		{ObjectMeta: bootstrapMeta("system:basic-user"), Rules: []rbacv1.PolicyRule{
			rule([]string{"create"}, []string{"authorization.k8s.io"}, "selfsubjectaccessreviews"),
			rule([]string{"create"}, []string{"authentication.k8s.io"}, "selfsubjectreviews")}},
	}
}

// BootstrapClusterRoleBindings bind system:masters to cluster-admin and
// system:authenticated to system:discovery and system:basic-user.
func BootstrapClusterRoleBindings() []rbacv1.ClusterRoleBinding {
	bind := func(role, group string) rbacv1.ClusterRoleBinding {
		return rbacv1.ClusterRoleBinding{ObjectMeta: bootstrapMeta(role),
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: group}}}
	}
	return []rbacv1.ClusterRoleBinding{bind("cluster-admin", GroupMasters), bind("system:discovery", GroupAuthenticated), bind("system:basic-user", GroupAuthenticated)}
}
