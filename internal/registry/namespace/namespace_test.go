package namespace

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
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

func TestPrepareAndValidate(t *testing.T) {
	res := NewResource()
	s := res.Strategy
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", Generation: 1}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}
	s.PrepareForCreate(context.Background(), ns)
	if ns.Generation != 0 || ns.Status.Phase != corev1.NamespaceActive || len(ns.Spec.Finalizers) != 1 || ns.Spec.Finalizers[0] != corev1.FinalizerKubernetes ||
		ns.Labels[corev1.LabelMetadataName] != "team-a" {
		t.Errorf("prepared = %+v", ns)
	}
	if errs := s.Validate(context.Background(), ns); len(errs) != 0 {
		t.Errorf("valid namespace: %v", errs)
	}
	cases := []struct {
		name string
		ns   corev1.Namespace
		want string
	}{
		{"dotted name", corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a.b"}}, "FieldValueInvalid metadata.name"},
		{"namespaced namespace", corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "b"}}, "FieldValueForbidden metadata.namespace"},
		{"bad finalizer", corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"custom"}}},
			"FieldValueInvalid spec.finalizers"},
		{"qualified finalizer", corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"example.com/x"}}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := errStrings(Validate(&c.ns)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestUpdateAndStatus(t *testing.T) {
	s := NewResource().Strategy.(*Strategy)
	old := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", ResourceVersion: "1"},
		Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	upd := old.DeepCopy()
	upd.Spec.Finalizers = nil
	upd.Status.Phase = corev1.NamespaceTerminating
	s.PrepareForUpdate(context.Background(), upd, old)
	if len(upd.Spec.Finalizers) != 1 || upd.Status.Phase != corev1.NamespaceActive {
		t.Errorf("main update changed finalizers or status: %+v", upd)
	}
	st := old.DeepCopy()
	st.Status.Phase = corev1.NamespaceTerminating
	st.Spec.Finalizers = nil
	s.PrepareForStatusUpdate(context.Background(), st, old)
	if len(st.Spec.Finalizers) != 1 {
		t.Error("status update changed spec")
	}
	if got := errStrings(s.ValidateStatusUpdate(context.Background(), st, old)); got != "FieldValueInvalid status.phase" {
		t.Errorf("Terminating without deletionTimestamp: %q", got)
	}
	now := metav1.Now()
	old.DeletionTimestamp = &now
	st.DeletionTimestamp = &now
	if errs := s.ValidateStatusUpdate(context.Background(), st, old); len(errs) != 0 {
		t.Errorf("Terminating with deletionTimestamp: %v", errs)
	}
}

func TestTableAndAttrs(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	res := NewResourceWithClock(func() time.Time { return now })
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default", CreationTimestamp: metav1.NewTime(now.Add(-3 * 24 * time.Hour))},
		Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	tbl, err := res.Strategy.ConvertToTable(context.Background(), &corev1.NamespaceList{Items: []corev1.Namespace{*ns}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := tbl.Rows[0].Cells; c[0] != "default" || c[1] != "Active" || c[2] != "3d" {
		t.Errorf("row = %v", c)
	}
	_, f, _ := res.Strategy.GetAttrs(ns)
	if f["status.phase"] != "Active" || f["metadata.name"] != "default" || f["metadata.namespace"] != "" {
		t.Errorf("fields = %v", f)
	}
}
