package e2e

// Watch tests of the storage conformance suite.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/peapod/peapod/internal/storage"
)

func storageTestWatchFromRV(t *testing.T, b *storageBackend, warm bool) {
	s := storageNew(t, b)
	ctx := storageCtx(t)
	ns := "wrv"
	if !warm {
		ns = "wrv-cold"
	}
	if warm {
		if err := s.StartWatchCache(ctx, "/registry/pods"); err != nil {
			t.Fatal(err)
		}
	}
	a := storageMustCreate(t, s, storagePod(ns, "a", nil))
	upd := &corev1.Pod{}
	if err := s.GuaranteedUpdate(ctx, storagePodKey(ns, "a"), upd, false, nil, func(cur runtime.Object) (runtime.Object, error) {
		p := cur.(*corev1.Pod)
		p.Labels = map[string]string{"x": "1"}
		return p, nil
	}); err != nil {
		t.Fatal(err)
	}
	bp := storageMustCreate(t, s, storagePod(ns, "b", nil))

	w, err := s.Watch(ctx, "/registry/pods/"+ns, storage.ListOptions{ResourceVersion: a.ResourceVersion, Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if typ, p := storageNextObject(t, w); typ != watch.Modified || p.Name != "a" || p.ResourceVersion != upd.ResourceVersion {
		t.Fatalf("first event %s %s rv %s", typ, p.Name, p.ResourceVersion)
	}
	if typ, p := storageNextObject(t, w); typ != watch.Added || p.Name != "b" || p.ResourceVersion != bp.ResourceVersion {
		t.Fatalf("second event %s %s", typ, p.Name)
	}
	// Live events follow.
	if err := s.Delete(ctx, storagePodKey(ns, "a"), &corev1.Pod{}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if typ, p := storageNextObject(t, w); typ != watch.Deleted || p.Name != "a" || p.Labels["x"] != "1" {
		t.Fatalf("delete event %s %s %v", typ, p.Name, p.Labels)
	}

	// From "0": synthetic ADDED for the current state, then changes.
	w0, err := s.Watch(ctx, "/registry/pods/"+ns+"/", storage.ListOptions{ResourceVersion: "0", Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w0.Stop()
	if typ, p := storageNextObject(t, w0); typ != watch.Added || p.Name != "b" {
		t.Fatalf("initial event %s %s", typ, p.Name)
	}
	storageMustCreate(t, s, storagePod(ns, "c", nil))
	if typ, p := storageNextObject(t, w0); typ != watch.Added || p.Name != "c" {
		t.Fatalf("live event %s %s", typ, p.Name)
	}

	// A single key, not recursive.
	w1, err := s.Watch(ctx, storagePodKey(ns, "c"), storage.ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	defer w1.Stop()
	if typ, p := storageNextObject(t, w1); typ != watch.Added || p.Name != "c" {
		t.Fatalf("single key event %s %s", typ, p.Name)
	}
	storageMustCreate(t, s, storagePod(ns, "d", nil))
	storageExpectNone(t, w1, 300*time.Millisecond)

	// A watch ends with its context.
	cctx, cancel := context.WithCancel(ctx)
	wc, err := s.Watch(cctx, "/registry/pods/"+ns, storage.ListOptions{Recursive: true, ResourceVersion: bp.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	for range wc.ResultChan() {
	}
}

func storageTestSelectorTransitions(t *testing.T, b *storageBackend) {
	s := storageNew(t, b)
	ctx := storageCtx(t)
	pred := storage.SelectionPredicate{Label: labels.SelectorFromSet(labels.Set{"app": "web"}), GetAttrs: storagePodAttrs}
	w, err := s.Watch(ctx, "/registry/pods/sel", storage.ListOptions{ResourceVersion: "0", Recursive: true, Predicate: pred})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	key := storagePodKey("sel", "a")
	setLabels := func(l map[string]string, ann string) *corev1.Pod {
		out := &corev1.Pod{}
		if err := s.GuaranteedUpdate(ctx, key, out, false, nil, func(cur runtime.Object) (runtime.Object, error) {
			p := cur.(*corev1.Pod)
			p.Labels = l
			p.Annotations = map[string]string{"a": ann}
			return p, nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	storageMustCreate(t, s, storagePod("sel", "a", map[string]string{"app": "db"}))
	setLabels(map[string]string{"app": "web"}, "1")
	if typ, p := storageNextObject(t, w); typ != watch.Added || p.Labels["app"] != "web" {
		t.Fatalf("entering the selector: %s %v", typ, p.Labels)
	}
	setLabels(map[string]string{"app": "web"}, "2")
	if typ, p := storageNextObject(t, w); typ != watch.Modified || p.Annotations["a"] != "2" {
		t.Fatalf("inside the selector: %s %v", typ, p.Annotations)
	}
	left := setLabels(map[string]string{"app": "db"}, "3")
	typ, p := storageNextObject(t, w)
	if typ != watch.Deleted || p.Labels["app"] != "web" || p.Annotations["a"] != "2" || p.ResourceVersion != left.ResourceVersion {
		t.Fatalf("leaving the selector: %s labels %v ann %v rv %s (want last matching state at rv %s)",
			typ, p.Labels, p.Annotations, p.ResourceVersion, left.ResourceVersion)
	}
	if err := s.Delete(ctx, key, &corev1.Pod{}, nil, nil); err != nil {
		t.Fatal(err)
	}
	storageExpectNone(t, w, 300*time.Millisecond)
}

func storageTestBookmarks(t *testing.T, b *storageBackend) {
	s := storageNew(t, b, storage.WithBookmarkInterval(200*time.Millisecond))
	ctx := storageCtx(t)
	storageMustCreate(t, s, storagePod("bm", "a", nil))
	storageMustCreate(t, s, storagePod("bm", "b", nil))
	yes := true
	w, err := s.Watch(ctx, "/registry/pods/bm", storage.ListOptions{Recursive: true, SendInitialEvents: &yes, ProgressNotify: true,
		ResourceVersionMatch: "NotOlderThan"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for _, name := range []string{"a", "b"} {
		ev := storageNext(t, w, 5*time.Second)
		if p, ok := ev.Object.(*corev1.Pod); ev.Type != watch.Added || !ok || p.Name != name {
			t.Fatalf("initial event %s %v", ev.Type, ev.Object)
		}
	}
	ev := storageNext(t, w, 5*time.Second)
	p, ok := ev.Object.(*corev1.Pod)
	if ev.Type != watch.Bookmark || !ok || p.Annotations[storage.InitialEventsAnnotation] != "true" || p.ResourceVersion == "" {
		t.Fatalf("want the initial-events-end bookmark, got %s %v", ev.Type, ev.Object)
	}
	ev = storageNext(t, w, 3*time.Second)
	if p, ok := ev.Object.(*corev1.Pod); ev.Type != watch.Bookmark || !ok || p.ResourceVersion == "" {
		t.Fatalf("want a periodic bookmark, got %s %v", ev.Type, ev.Object)
	}

	// An empty collection still gets its bookmarks (type from the scheme).
	w2, err := s.Watch(ctx, "/registry/configmaps/empty", storage.ListOptions{Recursive: true, SendInitialEvents: &yes, ProgressNotify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	ev = storageNext(t, w2, 5*time.Second)
	if cm, ok := ev.Object.(*corev1.ConfigMap); ev.Type != watch.Bookmark || !ok || cm.Annotations[storage.InitialEventsAnnotation] != "true" {
		t.Fatalf("empty collection: want a ConfigMap initial-events-end bookmark, got %s %T", ev.Type, ev.Object)
	}
}

func storageEtcdWatchers(t *testing.T, endpoint string) int {
	t.Helper()
	resp, err := http.Get(endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "etcd_debugging_mvcc_watcher_total "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return int(f)
		}
	}
	t.Fatal("etcd_debugging_mvcc_watcher_total not in /metrics")
	return 0
}

func storageTestManyWatchers(t *testing.T, b *storageBackend) {
	s := storageNew(t, b)
	ctx := storageCtx(t)
	// Start the store's caches (pods and the compaction key) first.
	w0, err := s.Watch(ctx, "/registry/pods/many", storage.ListOptions{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w0.Stop()
	// The caches register their etcd watches from their own goroutines:
	// count once the figure has settled.
	before := storageEtcdWatchers(t, b.endpoint)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		time.Sleep(300 * time.Millisecond)
		now := storageEtcdWatchers(t, b.endpoint)
		if now == before {
			break
		}
		before = now
	}
	const n = 50
	ws := make([]watch.Interface, n)
	for i := range ws {
		if ws[i], err = s.Watch(ctx, "/registry/pods/many", storage.ListOptions{Recursive: true}); err != nil {
			t.Fatal(err)
		}
		defer ws[i].Stop()
	}
	if after := storageEtcdWatchers(t, b.endpoint); after > before {
		t.Fatalf("etcd watchers %d -> %d after %d store watches; want them to share one", before, after, n)
	}
	storageMustCreate(t, s, storagePod("many", "a", nil))
	for i, w := range ws {
		if typ, p := storageNextObject(t, w); typ != watch.Added || p.Name != "a" {
			t.Fatalf("watcher %d: %s %s", i, typ, p.Name)
		}
	}
}

func storageTestSlowWatcher(t *testing.T, b *storageBackend) {
	s := storageNew(t, b, storage.WithWatcherBuffer(5))
	ctx := storageCtx(t)
	slow, err := s.Watch(ctx, "/registry/pods/slow", storage.ListOptions{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Stop()
	// A watcher whose selector matches none of the burst is not behind.
	picky, err := s.Watch(ctx, "/registry/pods/slow", storage.ListOptions{Recursive: true,
		Predicate: storage.SelectionPredicate{Label: labels.SelectorFromSet(labels.Set{"app": "rare"}), GetAttrs: storagePodAttrs}})
	if err != nil {
		t.Fatal(err)
	}
	defer picky.Stop()
	// The fast watcher keeps up; should the loaded machine make it fall
	// behind too, it re-watches from its last resourceVersion, as clients do.
	fast, err := s.Watch(ctx, "/registry/pods/slow", storage.ListOptions{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan int, 1)
	go func() {
		seen := map[string]bool{}
		w, last := fast, ""
		for len(seen) < 40 {
			ev, ok := <-w.ResultChan()
			if !ok {
				w.Stop()
				var werr error
				if w, werr = s.Watch(ctx, "/registry/pods/slow", storage.ListOptions{Recursive: true, ResourceVersion: last}); werr != nil {
					t.Error(werr)
					got <- len(seen)
					return
				}
				continue
			}
			p := ev.Object.(*corev1.Pod)
			seen[p.Name], last = true, p.ResourceVersion
		}
		w.Stop()
		got <- len(seen)
	}()
	for i := 0; i < 40; i++ {
		storageMustCreate(t, s, storagePod("slow", fmt.Sprintf("p%02d", i), nil))
	}
	select {
	case n := <-got:
		if n != 40 {
			t.Fatalf("fast watcher saw %d events", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the fast watcher was blocked by the slow one")
	}
	storageMustCreate(t, s, storagePod("slow", "rare", map[string]string{"app": "rare"}))
	if typ, p := storageNextObject(t, picky); typ != watch.Added || p.Name != "rare" {
		t.Fatalf("selective watcher: %s %s", typ, p.Name)
	}
	// The slow one was ended: its channel closes after what it buffered.
	n := 0
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-slow.ResultChan():
			if !ok {
				if n >= 41 {
					t.Fatalf("slow watcher got all %d events; want it ended", n)
				}
				return
			}
			n++
		case <-deadline:
			t.Fatal("slow watcher not ended")
		}
	}
}

func storageTestCompaction(t *testing.T, b *storageBackend) {
	s := storageNew(t, b, storage.WithBookmarkInterval(100*time.Millisecond))
	ctx := storageCtx(t)
	first := storageMustCreate(t, s, storagePod("cmp", "a", nil))
	// Start the cache before the history goes.
	w, err := s.Watch(ctx, "/registry/pods/cmp", storage.ListOptions{ResourceVersion: first.ResourceVersion, Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	w.Stop()
	for i := 0; i < 5; i++ {
		storageMustCreate(t, s, storagePod("cmp", fmt.Sprintf("p%d", i), nil))
	}
	page := &corev1.PodList{}
	if err := s.GetList(ctx, "/registry/pods/cmp", storage.ListOptions{Recursive: true, Predicate: storage.SelectionPredicate{Limit: 2}}, page); err != nil || page.Continue == "" {
		t.Fatalf("first page: %v %q", err, page.Continue)
	}
	storageMustCreate(t, s, storagePod("cmp", "later", nil))
	rev, err := s.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := storage.Compact(ctx, b.client, rev); err != nil {
		t.Fatal(err)
	}
	// Watching from before the compaction: 410 Expired.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err = s.Watch(ctx, "/registry/pods/cmp", storage.ListOptions{ResourceVersion: first.ResourceVersion, Recursive: true})
		if errors.Is(err, storage.ErrExpired) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !errors.Is(err, storage.ErrExpired) {
		t.Fatalf("watch from a compacted rv: %v, want ErrExpired", err)
	}
	// An old continue token and an exact read of old history: expired too.
	pred := storage.SelectionPredicate{Limit: 2, Continue: page.Continue}
	if err := s.GetList(ctx, "/registry/pods/cmp", storage.ListOptions{Recursive: true, Predicate: pred}, &corev1.PodList{}); !errors.Is(err, storage.ErrExpired) {
		t.Fatalf("continue after compaction: %v, want ErrExpired", err)
	}
	if err := s.GetList(ctx, "/registry/pods/cmp", storage.ListOptions{Recursive: true, ResourceVersion: first.ResourceVersion, ResourceVersionMatch: "Exact"}, &corev1.PodList{}); !errors.Is(err, storage.ErrExpired) {
		t.Fatalf("exact list at compacted rv: %v, want ErrExpired", err)
	}
	// A fresh watch from the current list works and sees changes.
	list := &corev1.PodList{}
	if err := s.GetList(ctx, "/registry/pods/cmp", storage.ListOptions{Recursive: true}, list); err != nil {
		t.Fatal(err)
	}
	w, err = s.Watch(ctx, "/registry/pods/cmp", storage.ListOptions{ResourceVersion: list.ResourceVersion, Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	storageMustCreate(t, s, storagePod("cmp", "after", nil))
	if typ, p := storageNextObject(t, w); typ != watch.Added || p.Name != "after" {
		t.Fatalf("after compaction: %s %s", typ, p.Name)
	}
}
