package storage

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

func testCacher() *cacher {
	cfg := defaultCacherConfig()
	cfg.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return &cacher{prefix: "/registry/pods/", cfg: cfg, watchers: map[int64]*cacheWatcher{}, budget: newTimeBudget(time.Now())}
}

func testWatcher(c *cacher, buffer int) *cacheWatcher {
	c.nextID++
	w := &cacheWatcher{id: c.nextID, c: c, keys: newKeyFilter("/registry/pods", true),
		input: make(chan watchItem, buffer), stopCh: make(chan struct{})}
	c.watchers[w.id] = w
	c.watcherList = nil
	return w
}

func podEvent(name string, rev int64) cacheEvent {
	p := podWith("web")
	p.Name = name
	return cacheEvent{Type: watch.Added, Key: "/registry/pods/ns/" + name, Obj: p, Rev: rev, enc: &encodings{}}
}

// A watcher whose buffer is full for less than the budget keeps its
// events; one that does not read within the budget is ended, and the
// others still get every event.
func TestDispatchBlocksWithinBudget(t *testing.T) {
	c := testCacher()
	lagging := testWatcher(c, 1)
	stuck := testWatcher(c, 1)
	fast := testWatcher(c, 10)
	c.dispatch([]cacheEvent{podEvent("a", 2)}, c.watcherListLocked())
	// lagging and stuck are full; lagging reads its first event soon.
	go func() {
		time.Sleep(20 * time.Millisecond)
		<-lagging.input
	}()
	start := time.Now()
	c.dispatch([]cacheEvent{podEvent("b", 3)}, c.watcherListLocked())
	if d := time.Since(start); d > 5*maxDispatchBudget {
		t.Fatalf("dispatch took %v with a budget of %v", d, maxDispatchBudget)
	}
	if lagging.ended {
		t.Fatal("a watcher behind for 20ms was ended")
	}
	if it := <-lagging.input; it.obj.(interface{ GetName() string }).GetName() != "b" {
		t.Fatalf("lagging watcher got %v", it.obj)
	}
	if !stuck.ended {
		t.Fatal("a watcher that never reads was not ended")
	}
	if _, ok := c.watchers[stuck.id]; ok {
		t.Fatal("the ended watcher is still registered")
	}
	// Its input is closed after what it holds.
	if _, ok := <-stuck.input; !ok {
		t.Fatal("the ended watcher lost its buffered event")
	}
	if _, ok := <-stuck.input; ok {
		t.Fatal("the ended watcher's input is not closed")
	}
	if len(fast.input) != 2 {
		t.Fatalf("fast watcher holds %d events, want 2", len(fast.input))
	}
	// The budget is spent: the next full watcher is ended at once.
	lagging2 := testWatcher(c, 1)
	c.dispatch([]cacheEvent{podEvent("c", 4)}, c.watcherListLocked())
	start = time.Now()
	c.dispatch([]cacheEvent{podEvent("d", 5)}, c.watcherListLocked())
	if d := time.Since(start); d > maxDispatchBudget {
		t.Fatalf("dispatch with no budget left took %v", d)
	}
	if !lagging2.ended {
		t.Fatal("a full watcher with no budget left was not ended")
	}
}

// A stopped watcher is skipped by a dispatch that still holds it, and its
// input is never closed by Stop (only the dispatching goroutine closes).
func TestDispatchSkipsStopped(t *testing.T) {
	c := testCacher()
	w := testWatcher(c, 1)
	list := c.watcherListLocked()
	c.dispatch([]cacheEvent{podEvent("a", 2)}, list)
	close(w.stopCh)
	c.remove(w)
	start := time.Now()
	c.dispatch([]cacheEvent{podEvent("b", 3)}, list)
	if d := time.Since(start); d > maxDispatchBudget/2 {
		t.Fatalf("dispatch waited %v for a stopped watcher", d)
	}
	if w.ended || len(c.watcherListLocked()) != 0 {
		t.Fatal("stopped watcher still listed or ended by the cacher")
	}
}

// Shared watchers get the cache's object and one encoding per key.
func TestSharedObjectEncodedOnce(t *testing.T) {
	c := testCacher()
	w1, w2 := testWatcher(c, 4), testWatcher(c, 4)
	w1.shared, w2.shared = true, true
	w1.result, w2.result = make(chan watch.Event, 4), make(chan watch.Event, 4)
	e := podEvent("a", 2)
	c.dispatch([]cacheEvent{e}, c.watcherListLocked())
	calls := 0
	encode := func(obj runtime.Object) ([]byte, error) {
		calls++
		return []byte(obj.(interface{ GetName() string }).GetName()), nil
	}
	ctx := context.Background()
	for _, w := range []*cacheWatcher{w1, w2} {
		if !w.deliver(ctx, <-w.input, nil) {
			t.Fatal("deliver failed")
		}
		ev := <-w.result
		so, ok := ev.Object.(*SharedObject)
		if !ok || so.Object != e.Obj {
			t.Fatalf("shared watcher got %T, not the cache's object", ev.Object)
		}
		if b, err := so.Encoded("json", encode); err != nil || string(b) != "a" {
			t.Fatalf("Encoded = %q, %v", b, err)
		}
	}
	if calls != 1 {
		t.Fatalf("encoded %d times, want once", calls)
	}
	// A watcher that did not ask for shared objects gets a copy.
	w3 := testWatcher(c, 4)
	w3.result = make(chan watch.Event, 1)
	c.dispatch([]cacheEvent{podEvent("b", 3)}, []*cacheWatcher{w3})
	w3.deliver(ctx, <-w3.input, nil)
	if ev := <-w3.result; ev.Object == runtime.Object(nil) || ev.Object == e.Obj {
		t.Fatal("non-shared watcher got the cache's object")
	} else if _, ok := ev.Object.(*SharedObject); ok {
		t.Fatal("non-shared watcher got a SharedObject")
	}
}
