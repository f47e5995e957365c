package clusterrolebinding

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidate(t *testing.T) {
	b := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "b"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "r"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "default"}}}
	errs := Validate(b)
	if len(errs) != 2 || errs[0].Field != "roleRef.kind" || errs[1].Field != "subjects[0].namespace" {
		t.Errorf("errs = %v", errs)
	}
	b.RoleRef.Kind, b.Subjects[0].Namespace = "ClusterRole", "ns"
	if errs := Validate(b); len(errs) != 0 {
		t.Errorf("valid: %v", errs)
	}
}
