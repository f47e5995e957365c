package podgc

import (
	"testing"
	"time"
)

func TestNodeTracker(t *testing.T) {
	t0 := time.Unix(0, 0)
	tr := newNodeTracker(40 * time.Second)
	steps := []struct {
		at      int
		node    string
		missing bool
		want    bool
	}{
		{0, "a", true, false},   // first seen missing
		{20, "a", true, false},  // still in quarantine
		{40, "a", true, true},   // quarantine over
		{41, "a", false, false}, // came back: clock resets
		{50, "a", true, false},
		{89, "a", true, false},
		{90, "a", true, true},
		{90, "b", true, false}, // independent per node
	}
	for i, s := range steps {
		now := t0.Add(time.Duration(s.at) * time.Second)
		got := false
		if s.missing {
			got = tr.gone(s.node, now)
		} else {
			tr.seen(s.node)
		}
		if got != s.want {
			t.Fatalf("step %d (%+v): got %v", i, s, got)
		}
	}
	tr.forgetExcept(map[string]bool{"b": true})
	if _, ok := tr.missingSince["a"]; ok {
		t.Fatal("a not forgotten")
	}
	if _, ok := tr.missingSince["b"]; !ok {
		t.Fatal("b forgotten")
	}
}
