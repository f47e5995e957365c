package lease

import (
	"context"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errStrings(errs field.ErrorList) string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return strings.Join(out, ",")
}

func ptr[T any](v T) *T { return &v }

func TestValidate(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "node1", Namespace: "kube-node-lease"}
	cases := []struct {
		name string
		spec coordinationv1.LeaseSpec
		want string
	}{
		{"node heartbeat", coordinationv1.LeaseSpec{HolderIdentity: ptr("node1"), LeaseDurationSeconds: ptr(int32(40))}, ""},
		{"bad numbers", coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr(int32(0)), LeaseTransitions: ptr(int32(-1))},
			"FieldValueInvalid spec.leaseDurationSeconds,FieldValueInvalid spec.leaseTransitions"},
		{"preferred holder needs strategy", coordinationv1.LeaseSpec{PreferredHolder: ptr("x")}, "FieldValueForbidden spec.preferredHolder"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := &coordinationv1.Lease{ObjectMeta: meta, Spec: c.spec}
			if got := errStrings(Validate(l)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestTable(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	res := NewResourceWithClock(func() time.Time { return now })
	if res.GVR.Group != "coordination.k8s.io" || res.GVR.Version != "v1" || res.GVR.Resource != "leases" {
		t.Errorf("resource = %+v", res.GVR)
	}
	l := coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "node1", CreationTimestamp: metav1.NewTime(now.Add(-time.Minute))},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("node1")}}
	tbl, err := res.Strategy.ConvertToTable(context.Background(), &coordinationv1.LeaseList{Items: []coordinationv1.Lease{l, {}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := tbl.Rows[0].Cells; c[0] != "node1" || c[1] != "node1" || c[2] != "60s" {
		t.Errorf("row = %v", c)
	}
	if c := tbl.Rows[1].Cells; c[1] != "<unknown>" || c[2] != "<unknown>" {
		t.Errorf("empty row = %v", c)
	}
}

func TestDropAlphaFields(t *testing.T) {
	s := NewResource().Strategy
	strategy := coordinationv1.OldestEmulationVersion
	l := &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{Strategy: &strategy, PreferredHolder: ptr("x"), HolderIdentity: ptr("a")}}
	s.PrepareForCreate(context.Background(), l)
	if l.Spec.Strategy != nil || l.Spec.PreferredHolder != nil || *l.Spec.HolderIdentity != "a" {
		t.Errorf("spec = %+v", l.Spec)
	}
}
