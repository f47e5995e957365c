package e2e

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/peapod/peapod/internal/storage"
)

// TestStorageGetFromWatchCache: with the pods watch cache running, Get is
// served from the cache once it caught up with etcd's current revision.
// It must give exactly what a read from etcd gives (a store without a
// cache), see every write acknowledged before it (read your writes, also
// from many goroutines at once), and hand out copies.
func TestStorageGetFromWatchCache(t *testing.T) {
	e := storageStartEmbedded(t, filepath.Join(t.TempDir(), "etcd"))
	t.Cleanup(func() { e.Close() })
	b := &storageBackend{name: "embedded", client: e.Client(), endpoint: e.ClientURL()}
	ctx := storageCtx(t)
	cached := storageNew(t, b)
	if err := cached.StartWatchCache(ctx, "/registry/pods"); err != nil {
		t.Fatal(err)
	}
	direct := storageNew(t, b) // no cache started: Get reads etcd

	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := fmt.Sprintf("p%d", i)
			if err := cached.Create(ctx, storagePodKey("ns", name), storagePod("ns", name, map[string]string{"n": "0"}), nil); err != nil {
				errs <- err
				return
			}
			for n := 1; n <= 3; n++ {
				got := &corev1.Pod{}
				if err := cached.Get(ctx, storagePodKey("ns", name), "", got, false); err != nil {
					errs <- err
					return
				}
				if got.Labels["n"] != strconv.Itoa(n-1) {
					errs <- fmt.Errorf("%s: Get after write %d saw label n=%q", name, n-1, got.Labels["n"])
					return
				}
				// The caller owns what Get returns.
				got.Labels["n"] = "scribbled"
				err := cached.GuaranteedUpdate(ctx, storagePodKey("ns", name), &corev1.Pod{}, false, nil,
					func(cur runtime.Object) (runtime.Object, error) {
						p := cur.(*corev1.Pod)
						p.Labels["n"] = strconv.Itoa(n)
						return p, nil
					})
				if err != nil {
					errs <- err
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	for i := 0; i < 40; i++ {
		key := storagePodKey("ns", fmt.Sprintf("p%d", i))
		fromCache, fromEtcd := &corev1.Pod{}, &corev1.Pod{}
		if err := cached.Get(ctx, key, "", fromCache, false); err != nil {
			t.Fatal(err)
		}
		if err := direct.Get(ctx, key, "", fromEtcd, false); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fromCache, fromEtcd) {
			t.Fatalf("%s: from the cache\n%#v\nfrom etcd\n%#v", key, fromCache, fromEtcd)
		}
		if fromCache.Labels["n"] != "3" {
			t.Fatalf("%s: label n=%q, want 3", key, fromCache.Labels["n"])
		}
		fromCache.Labels["n"] = "scribbled"
		fromCache.Spec.Containers[0].Image = "scribbled"
		again := &corev1.Pod{}
		if err := cached.Get(ctx, key, "", again, false); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again, fromEtcd) {
			t.Fatalf("%s: changing what Get returned changed the cache: %v", key, again)
		}
	}

	if err := cached.Get(ctx, storagePodKey("ns", "absent"), "", &corev1.Pod{}, false); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get of an absent pod: %v, want ErrNotFound", err)
	}
	if err := cached.Get(ctx, storagePodKey("ns", "p0"), "999999999", &corev1.Pod{}, false); !errors.Is(err, storage.ErrTimeout) {
		t.Fatalf("Get at a future resourceVersion: %v, want ErrTimeout", err)
	}
}
