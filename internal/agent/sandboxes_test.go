package agent

import (
	"context"
	"testing"
	"time"

	"github.com/peapod/peapod/internal/runtime"
)

// countingLister counts full lists.
type countingLister struct {
	*fakeRuntime
	lists int
}

func (c *countingLister) ListPodSandboxes(ctx context.Context) ([]*runtime.SandboxStatus, error) {
	c.lists++
	return c.fakeRuntime.ListPodSandboxes(ctx)
}

func TestSandboxListerShares(t *testing.T) {
	f := &countingLister{fakeRuntime: newFakeRuntime()}
	ctx := context.Background()
	a, _ := f.RunPodSandbox(ctx, &runtime.SandboxConfig{Name: "a", UID: "ua"})
	l := &sandboxLister{rt: f}
	t0 := time.Now()
	m, at, _ := l.list(ctx, t0, t0)
	if len(m["ua"]) != 1 || m["ua"][0] != a || !at.Equal(t0) || f.lists != 1 {
		t.Fatalf("first list: %v at %v (%d lists)", m, at, f.lists)
	}
	// Workers created before that list share it.
	b, _ := f.RunPodSandbox(ctx, &runtime.SandboxConfig{Name: "b", UID: "ub"})
	if m, _, _ := l.list(ctx, t0.Add(-time.Second), t0.Add(time.Second)); f.lists != 1 || len(m["ub"]) != 0 {
		t.Fatal("a list recent enough was made again")
	}
	// One created after it (or due for a newer one) gets a new list.
	m, at, _ = l.list(ctx, t0.Add(time.Millisecond), t0.Add(2*time.Second))
	if f.lists != 2 || len(m["ub"]) != 1 || m["ub"][0] != b || !at.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("newer list: %v at %v (%d lists)", m, at, f.lists)
	}
}
