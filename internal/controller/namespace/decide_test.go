package namespace

import (
	"errors"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNeedsDeletionAndFinalizers(t *testing.T) {
	dt := metav1.NewTime(time.Unix(1, 0))
	tests := []struct {
		name string
		ns   *corev1.Namespace
		want bool
	}{
		{"nil", nil, false},
		{"active", &corev1.Namespace{Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}}, false},
		{"terminating with finalizer", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &dt}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"example.com/x", "kubernetes"}}}, true},
		{"terminating, finalized", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &dt}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"example.com/x"}}}, false},
	}
	for _, tt := range tests {
		if got := NeedsDeletion(tt.ns); got != tt.want {
			t.Errorf("%s: got %v", tt.name, got)
		}
	}
	got := WithoutFinalizer([]corev1.FinalizerName{"example.com/x", "kubernetes", "example.com/y"})
	if !slices.Equal(got, []corev1.FinalizerName{"example.com/x", "example.com/y"}) {
		t.Fatalf("WithoutFinalizer: %v", got)
	}
	if got := WithoutFinalizer([]corev1.FinalizerName{"kubernetes"}); got == nil || len(got) != 0 {
		t.Fatalf("WithoutFinalizer of only kubernetes: %#v (want empty, non-nil)", got)
	}
}

func TestDecide(t *testing.T) {
	now := time.Unix(100, 0)
	cond := func(d Decision, typ corev1.NamespaceConditionType) corev1.NamespaceCondition {
		for _, c := range d.Conditions {
			if c.Type == typ {
				return c
			}
		}
		t.Fatalf("no condition %s in %+v", typ, d.Conditions)
		return corev1.NamespaceCondition{}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x"}}

	empty := Decide(ns, Content{}, now)
	if !empty.Finalize || empty.Retry || len(empty.Conditions) != 4 {
		t.Fatalf("empty: %+v", empty)
	}
	if c := cond(empty, corev1.NamespaceContentRemaining); c.Status != corev1.ConditionFalse || c.Reason != "ContentRemoved" || !c.LastTransitionTime.Time.Equal(now) {
		t.Fatalf("empty remaining: %+v", c)
	}

	remaining := Decide(ns, Content{Remaining: map[string]int{"pods": 2, "secrets": 0}, Finalizers: map[string]int{"example.com/f": 1}}, now)
	if remaining.Finalize || !remaining.Retry {
		t.Fatalf("remaining: %+v", remaining)
	}
	if c := cond(remaining, corev1.NamespaceContentRemaining); c.Status != corev1.ConditionTrue || c.Reason != "SomeResourcesRemain" || c.Message != "Some resources are remaining: pods has 2 resource instances" {
		t.Fatalf("remaining: %+v", c)
	}
	if c := cond(remaining, corev1.NamespaceFinalizersRemaining); c.Reason != "SomeFinalizersRemain" || c.Message != "Some content in the namespace has finalizers remaining: example.com/f in 1 resource instances" {
		t.Fatalf("finalizers: %+v", c)
	}

	failed := Decide(ns, Content{DiscoveryErr: errors.New("boom"), DeleteErrs: map[string]error{"leases.coordination.k8s.io": errors.New("denied")}}, now)
	if failed.Finalize || !failed.Retry {
		t.Fatalf("failed: %+v", failed)
	}
	if c := cond(failed, corev1.NamespaceDeletionDiscoveryFailure); c.Status != corev1.ConditionTrue || c.Reason != "DiscoveryFailed" || c.Message != "boom" {
		t.Fatalf("discovery: %+v", c)
	}
	if c := cond(failed, corev1.NamespaceDeletionContentFailure); c.Status != corev1.ConditionTrue || c.Reason != "ContentDeletionFailed" {
		t.Fatalf("content: %+v", c)
	}

	// Same result again: no status write, transition times kept.
	stored := ns.DeepCopy()
	stored.Status.Conditions = append(remaining.Conditions, corev1.NamespaceCondition{Type: "example.com/Other", Status: corev1.ConditionTrue})
	again := Decide(stored, Content{Remaining: map[string]int{"pods": 2}, Finalizers: map[string]int{"example.com/f": 1}}, now.Add(time.Minute))
	if again.Conditions != nil || again.Finalize {
		t.Fatalf("unchanged content rewrote status: %+v", again)
	}
	// A change keeps foreign conditions and old transition times.
	later := Decide(stored, Content{Remaining: map[string]int{"pods": 1}, Finalizers: map[string]int{"example.com/f": 1}}, now.Add(time.Minute))
	if len(later.Conditions) != 5 || later.Conditions[4].Type != "example.com/Other" {
		t.Fatalf("foreign condition lost: %+v", later.Conditions)
	}
	if c := cond(later, corev1.NamespaceDeletionDiscoveryFailure); !c.LastTransitionTime.Time.Equal(now) {
		t.Fatalf("unchanged condition got a new transition time: %+v", c)
	}
	if c := cond(later, corev1.NamespaceContentRemaining); !c.LastTransitionTime.Time.Equal(now.Add(time.Minute)) {
		t.Fatalf("changed condition kept its transition time: %+v", c)
	}
}
