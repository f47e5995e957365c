package role

import (
	"context"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidate(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "system:reader", Namespace: "ns"}
	cases := []struct {
		name  string
		rules []rbacv1.PolicyRule
		want  []string // fields, in order
	}{
		{"ok", []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}}}, nil},
		{"all missing", []rbacv1.PolicyRule{{}}, []string{"rules[0].verbs", "rules[0].apiGroups", "rules[0].resources"}},
		{"non-resource in a Role", []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}}, []string{"rules[0].nonResourceURLs"}},
		{"both kinds", []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/x"}, Resources: []string{"pods"}}}, []string{"rules[0].nonResourceURLs", "rules[0].nonResourceURLs"}},
	}
	for _, c := range cases {
		errs := Validate(&rbacv1.Role{ObjectMeta: meta, Rules: c.rules})
		var got []string
		for _, e := range errs {
			got = append(got, e.Field)
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: errors %v, want fields %v", c.name, errs, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: errors %v, want fields %v", c.name, errs, c.want)
			}
		}
	}
	if errs := Validate(&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "a/b", Namespace: "ns"}}); len(errs) != 1 || errs[0].Field != "metadata.name" {
		t.Errorf("name with a slash: %v", errs)
	}
	if errs := ValidateRules([]rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}}, false, nil); len(errs) != 0 {
		t.Errorf("cluster non-resource rule: %v", errs)
	}
}

func TestTable(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	res := NewResourceWithClock(func() time.Time { return now })
	tbl, err := res.Strategy.ConvertToTable(context.Background(), &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "r", CreationTimestamp: metav1.NewTime(now)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := tbl.Rows[0].Cells; c[0] != "r" || c[1] != "2026-01-02T03:04:05Z" || tbl.ColumnDefinitions[1].Name != "Created At" {
		t.Errorf("table = %+v", tbl)
	}
	if res.GVR.Group != "rbac.authorization.k8s.io" || !res.Namespaced || !res.Strategy.AllowCreateOnUpdate() {
		t.Errorf("resource = %+v", res)
	}
}
