package e2e

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/peapod/peapod/internal/auth"
)

// StoreRBAC.PodsOnNode returns exactly the node's pods, read from etcd
// (cold cache) and from the watch cache, and sees a pod bound just before.
func TestAuthStorePodsOnNode(t *testing.T) {
	e := storageStartEmbedded(t, filepath.Join(t.TempDir(), "etcd"))
	t.Cleanup(func() { e.Close() })
	s := storageNew(t, &storageBackend{name: "embedded", client: e.Client(), endpoint: e.ClientURL()})
	ctx := storageCtx(t)
	add := func(ns, name, node string) {
		p := storagePod(ns, name, nil)
		p.Spec.NodeName = node
		storageMustCreate(t, s, p)
	}
	add("a", "p1", "n1")
	add("b", "p2", "n1")
	add("a", "p3", "n2")
	add("a", "p4", "")
	src := auth.StoreRBAC{Store: s}
	names := func() []string {
		t.Helper()
		pods, err := src.PodsOnNode(ctx, "n1")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range pods {
			out = append(out, p.Namespace+"/"+p.Name)
		}
		slices.Sort(out)
		return out
	}
	if got, want := names(), []string{"a/p1", "b/p2"}; !slices.Equal(got, want) {
		t.Fatalf("cold: %v, want %v", got, want)
	}
	if err := s.StartWatchCache(ctx, "/registry/pods"); err != nil {
		t.Fatal(err)
	}
	add("c", "p5", "n1")
	if got, want := names(), []string{"a/p1", "b/p2", "c/p5"}; !slices.Equal(got, want) {
		t.Fatalf("warm: %v, want %v", got, want)
	}
}
