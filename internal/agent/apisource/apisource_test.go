package apisource

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func pod(uid string) *v1.Pod { return &v1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid)}} }

func TestMergeWaitsForEverySourceThenSendsTheUnion(t *testing.T) {
	a, b := make(chan []*v1.Pod), make(chan []*v1.Pod)
	src := func(in chan []*v1.Pod) RunFunc {
		return func(ctx context.Context, out chan<- []*v1.Pod) {
			for {
				select {
				case p := <-in:
					out <- p
				case <-ctx.Done():
					return
				}
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan []*v1.Pod)
	go Merge(ctx, out, src(a), src(b))

	a <- []*v1.Pod{pod("a1")}
	select {
	case got := <-out:
		t.Fatalf("sent %d pods before every source synced", len(got))
	case <-time.After(50 * time.Millisecond):
	}
	b <- []*v1.Pod{pod("b1"), pod("b2")}
	if got := <-out; len(got) != 3 {
		t.Fatalf("union of %d pods, want 3", len(got))
	}
	a <- nil
	if got := <-out; len(got) != 2 || got[0].UID != "b1" {
		t.Fatalf("after a emptied: %v", got)
	}
}

func TestForceDeletedPodStaysMarkedDeleted(t *testing.T) {
	s := &Source{}
	p := pod("f1")
	s.deleted(p)
	graceful := pod("g1")
	ts := metav1.Now()
	graceful.DeletionTimestamp = &ts
	s.deleted(graceful)
	now := time.Now()
	got := s.withTombs(nil, now)
	if len(got) != 1 || got[0].UID != "f1" || got[0].DeletionTimestamp == nil || *got[0].DeletionGracePeriodSeconds != 0 {
		t.Fatalf("tombstones %+v", got)
	}
	if p.DeletionTimestamp != nil {
		t.Error("the informer's object was changed")
	}
	if got := s.withTombs(nil, now.Add(2*tombTTL)); len(got) != 0 {
		t.Errorf("expired tombstones kept: %d", len(got))
	}
}

func TestChangedIgnoresStatusOnlyUpdates(t *testing.T) {
	a := pod("a")
	a.ResourceVersion = "1"
	sent, changed := Changed(nil, []*v1.Pod{a})
	if !changed {
		t.Fatal("first set not sent")
	}
	b := a.DeepCopy()
	b.ResourceVersion = "2"
	b.Status.Phase = v1.PodRunning
	if _, changed := Changed(sent, []*v1.Pod{b}); changed {
		t.Error("a status-only update sent the set again")
	}
	c := b.DeepCopy()
	ts := metav1.Now()
	c.DeletionTimestamp = &ts
	if _, changed := Changed(sent, []*v1.Pod{c}); !changed {
		t.Error("a deletion was not sent")
	}
	if _, changed := Changed(sent, nil); !changed {
		t.Error("a removed pod was not sent")
	}
	if _, changed := Changed(map[types.UID]*v1.Pod{}, nil); changed {
		t.Error("an empty set sent again")
	}
}

func TestChangedComparesOnlyNewVersions(t *testing.T) {
	a := pod("a")
	a.ResourceVersion = "5"
	sent, _ := Changed(nil, []*v1.Pod{a})
	// The same version is the same object: not compared again.
	same := a.DeepCopy()
	same.Labels = map[string]string{"x": "y"}
	if _, changed := Changed(sent, []*v1.Pod{same}); changed {
		t.Error("a pod of the remembered version was compared")
	}
	// A tombstone has no version: compared in full.
	tomb := a.DeepCopy()
	tomb.ResourceVersion = ""
	ts := metav1.Now()
	tomb.DeletionTimestamp = &ts
	if _, changed := Changed(sent, []*v1.Pod{tomb}); !changed {
		t.Error("a tombstone was not sent")
	}
	if sent[a.UID].Status.Phase != "" || sent[a.UID].ManagedFields != nil {
		t.Error("the remembered pod keeps its status or managed fields")
	}
}
