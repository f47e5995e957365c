package storage

import (
	"testing"

	"k8s.io/apimachinery/pkg/watch"
)

func revs(es []cacheEvent) []int64 {
	out := []int64{}
	for _, e := range es {
		out = append(out, e.Rev)
	}
	return out
}

func equalRevs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRingBuffer(t *testing.T) {
	r := newRingBuffer(3, 10)
	for _, rev := range []int64{11, 13, 14} {
		r.push(cacheEvent{Type: watch.Added, Rev: rev})
	}
	tests := []struct {
		since int64
		want  []int64
		ok    bool
	}{
		{9, nil, false},
		{10, []int64{11, 13, 14}, true},
		{12, []int64{13, 14}, true},
		{14, []int64{}, true},
		{20, []int64{}, true},
	}
	for _, tt := range tests {
		got, ok := r.since(tt.since)
		if ok != tt.ok || (ok && !equalRevs(revs(got), tt.want)) {
			t.Errorf("since(%d) = %v %v, want %v %v", tt.since, revs(got), ok, tt.want, tt.ok)
		}
	}
	// Full: pushing evicts the oldest and moves the start.
	r.push(cacheEvent{Rev: 17})
	if _, ok := r.since(10); ok {
		t.Error("since(10) after eviction of 11: ok")
	}
	if got, ok := r.since(11); !ok || !equalRevs(revs(got), []int64{13, 14, 17}) {
		t.Errorf("since(11) = %v %v", revs(got), ok)
	}
	// Compaction at 15: a watch from 13 needs 14, gone; from 14 is fine.
	r.compacted(15)
	if _, ok := r.since(13); ok {
		t.Error("since(13) after compaction at 15: ok")
	}
	if got, ok := r.since(14); !ok || !equalRevs(revs(got), []int64{17}) {
		t.Errorf("since(14) = %v %v", revs(got), ok)
	}
	if r.len() != 1 {
		t.Errorf("len = %d", r.len())
	}
	r.reset(30)
	if _, ok := r.since(29); ok || r.len() != 0 {
		t.Error("reset")
	}
}
