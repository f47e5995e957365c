package clusterrole

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidate(t *testing.T) {
	ok := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "system:discovery"},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/api", "/apis/*"}}}}
	if errs := Validate(ok); len(errs) != 0 {
		t.Errorf("valid: %v", errs)
	}
	bad := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "ns"}, Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}}}}
	errs := Validate(bad)
	if len(errs) != 2 || errs[0].Field != "metadata.namespace" || errs[1].Field != "rules[0].verbs" {
		t.Errorf("errs = %v", errs)
	}
	if r := NewResource(); r.Namespaced || r.GVR.Resource != "clusterroles" {
		t.Errorf("resource = %+v", r)
	}
}
