package storage

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestListItems(t *testing.T) {
	list := &corev1.PodList{Items: []corev1.Pod{{}}}
	items, err := newListItems(list)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Fatal("old items kept")
	}
	slot := items.next().(*corev1.Pod)
	slot.Name = "dropped"
	items.drop()
	items.next().(*corev1.Pod).Name = "kept"
	if err := items.add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "added"}}); err != nil {
		t.Fatal(err)
	}
	if err := items.add(&corev1.Secret{}); err == nil {
		t.Fatal("a Secret went into a PodList")
	}
	if len(list.Items) != 2 || list.Items[0].Name != "kept" || list.Items[1].Name != "added" {
		t.Fatalf("items %+v", list.Items)
	}
	if err := setListMeta(list, 12, "tok"); err != nil || list.ResourceVersion != "12" || list.Continue != "tok" {
		t.Fatalf("list meta %v %+v", err, list.ListMeta)
	}
	if _, err := newListItems(&corev1.Pod{}); err == nil {
		t.Fatal("a Pod accepted as a list")
	}
}

func TestParseRV(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "0": 0, "17": 17} {
		if got, err := parseRV(in); err != nil || got != want {
			t.Errorf("parseRV(%q) = %d %v", in, got, err)
		}
	}
	for _, in := range []string{"x", "-1", "1.5"} {
		if _, err := parseRV(in); !errors.Is(err, ErrInvalidRV) {
			t.Errorf("parseRV(%q): %v, want ErrInvalidRV", in, err)
		}
	}
}

func TestCheckPreconditions(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: "u1", ResourceVersion: "5"}}
	uid, other, rv, oldRV := types.UID("u1"), types.UID("u2"), "5", "4"
	tests := []struct {
		name string
		p    *Preconditions
		ok   bool
	}{
		{"none", nil, true},
		{"empty", &Preconditions{}, true},
		{"uid", &Preconditions{UID: &uid, ResourceVersion: &rv}, true},
		{"wrong uid", &Preconditions{UID: &other}, false},
		{"stale rv", &Preconditions{ResourceVersion: &oldRV}, false},
	}
	for _, tt := range tests {
		err := checkPreconditions("/k", tt.p, pod)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrConflict)) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
