package rolebinding

import (
	"context"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func fields(b *rbacv1.RoleBinding) []string {
	var out []string
	for _, e := range Validate(b) {
		out = append(out, e.Field)
	}
	return out
}

func TestValidate(t *testing.T) {
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"}
	meta := metav1.ObjectMeta{Name: "b", Namespace: "ns"}
	cases := []struct {
		name string
		b    rbacv1.RoleBinding
		want []string
	}{
		{"ok", rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: ref, Subjects: []rbacv1.Subject{
			{Kind: "ServiceAccount", Name: "default"}, {Kind: "User", APIGroup: rbacv1.GroupName, Name: "alice"}, {Kind: "Group", APIGroup: rbacv1.GroupName, Name: "g"}}}, nil},
		{"bad roleRef", rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: rbacv1.RoleRef{APIGroup: "x", Kind: "Pod"}},
			[]string{"roleRef.apiGroup", "roleRef.kind", "roleRef.name"}},
		{"bad subjects", rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: ref, Subjects: []rbacv1.Subject{
			{Kind: "Robot", Name: "r"}, {Kind: "User"}, {Kind: "ServiceAccount", APIGroup: "x", Name: "Bad_Name"}}},
			[]string{"subjects[0].kind", "subjects[1].name", "subjects[1].apiGroup", "subjects[2].apiGroup", "subjects[2].name"}},
	}
	for _, c := range cases {
		got := fields(&c.b)
		if len(got) != len(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
	}
	if errs := ValidateSubjects([]rbacv1.Subject{{Kind: "ServiceAccount", Name: "default"}}, false); len(errs) != 1 || errs[0].Field != "subjects[0].namespace" {
		t.Errorf("cluster binding SA without namespace: %v", errs)
	}
}

func TestStrategyDefaultsAndImmutableRoleRef(t *testing.T) {
	now := time.Now()
	res := NewResourceWithClock(func() time.Time { return now })
	b := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "ns", ResourceVersion: "1"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}, {Kind: "ServiceAccount", Name: "default", Namespace: "ns"}}}
	res.Strategy.PrepareForCreate(context.Background(), b)
	if b.Subjects[0].APIGroup != rbacv1.GroupName || b.Subjects[1].APIGroup != "" {
		t.Errorf("defaults: %+v", b.Subjects)
	}
	if errs := res.Strategy.Validate(context.Background(), b); len(errs) != 0 {
		t.Fatal(errs)
	}
	upd := b.DeepCopy()
	upd.RoleRef.Name = "edit"
	errs := res.Strategy.ValidateUpdate(context.Background(), upd, b)
	if len(errs) != 1 || errs[0].Field != "roleRef" || errs[0].Detail != "cannot change roleRef" {
		t.Errorf("roleRef change: %v", errs)
	}
	tbl, err := res.Strategy.ConvertToTable(context.Background(), b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := tbl.Rows[0].Cells; c[1] != "ClusterRole/view" || c[3] != "alice" || c[5] != "ns/default" {
		t.Errorf("row = %v", c)
	}
}
