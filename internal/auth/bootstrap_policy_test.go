package auth

import "testing"

// As Kubernetes' default roles: only cluster-admin ("*") grants impersonate.
func TestBootstrapRolesGrantNoImpersonation(t *testing.T) {
	for _, r := range BootstrapClusterRoles() {
		for _, req := range []Request{
			{Verb: "impersonate", Resource: "users", Name: "jane"},
			{Verb: "impersonate", Resource: "groups", Name: "system:masters"},
			{Verb: "impersonate", Resource: "serviceaccounts", Namespace: "default", Name: "default"},
			{Verb: "impersonate", APIGroup: "authentication.k8s.io", Resource: "uids", Name: "1"},
			{Verb: "impersonate", APIGroup: "authentication.k8s.io", Resource: "userextras", Subresource: "scopes", Name: "x"},
		} {
			if got := RulesAllow(r.Rules, req); got != (r.Name == "cluster-admin") {
				t.Errorf("%s allows %+v: %v", r.Name, req, got)
			}
		}
	}
}
