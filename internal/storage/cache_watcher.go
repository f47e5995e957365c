package storage

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// InitialEventsAnnotation marks the BOOKMARK that ends the initial events
// of a watch with SendInitialEvents.
const InitialEventsAnnotation = "k8s.io/initial-events-end"

// cacheWatcher is one watch served by a cacher. The cacher sends it
// events on input (waiting a bounded time when input is full, then ending
// the watcher); its own goroutine copies (or shares) them and writes
// result.
type cacheWatcher struct {
	id        int64
	c         *cacher
	keys      keyFilter
	pred      SelectionPredicate
	bookmarks bool
	minRev    int64 // events at or below are not sent
	shared    bool  // deliver *SharedObject instead of copies

	// Of the cacher's run goroutine: ended is set when it closed input;
	// pending is the item a blocked dispatch is waiting to send.
	ended   bool
	pending watchItem

	input    chan watchItem // closed by the cacher, under its lock
	result   chan watch.Event
	stopOnce sync.Once
	stopCh   chan struct{}
}

var _ watch.Interface = (*cacheWatcher)(nil)

// ResultChan implements watch.Interface.
func (w *cacheWatcher) ResultChan() <-chan watch.Event { return w.result }

// Stop implements watch.Interface.
func (w *cacheWatcher) Stop() {
	w.stopOnce.Do(func() { close(w.stopCh) })
	w.c.remove(w)
}

// watch registers a watcher per the Interface.Watch semantics.
func (c *cacher) watch(ctx context.Context, key string, opts ListOptions) (watch.Interface, error) {
	rv, err := parseRV(opts.ResourceVersion)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", key, err)
	}
	if err := c.waitReady(ctx); err != nil {
		return nil, err
	}
	sendInitial := rv == 0
	if opts.SendInitialEvents != nil {
		sendInitial = *opts.SendInitialEvents
	}
	if rv == 0 && opts.ResourceVersion == "" && opts.SendInitialEvents != nil && *opts.SendInitialEvents &&
		c.store.progressReliable() {
		// WatchList with resourceVersion "": the initial state must be as
		// new as etcd's (a consistent read), as for lists.
		if cur, err := c.store.CurrentRevision(ctx); err == nil {
			wctx, cancel := context.WithTimeout(ctx, consistentListWait)
			_ = c.waitForRev(wctx, cur) // best effort: else the cache's state
			cancel()
		}
	}
	if rv > 0 {
		if sendInitial {
			// "Not older than rv": the cache must have caught up.
			if err := c.waitForRev(ctx, rv); err != nil {
				return nil, err
			}
		} else if err := c.checkRevExists(ctx, rv); err != nil {
			return nil, err
		}
	}
	w := &cacheWatcher{
		c:         c,
		keys:      newKeyFilter(key, opts.Recursive),
		pred:      opts.Predicate,
		bookmarks: opts.ProgressNotify,
		shared:    sharedObjects(ctx),
		input:     make(chan watchItem, c.cfg.watcherBuffer),
		result:    make(chan watch.Event, 16),
		stopCh:    make(chan struct{}),
	}
	var (
		initial    []watchItem
		initialEnd = int64(-1)
		newFunc    func() runtime.Object
	)
	c.mu.Lock()
	switch {
	case sendInitial:
		// The state now is at least as new as rv (waitForRev above).
		snap, err := c.snapshotLocked(w.keys, w.pred)
		if err != nil {
			c.mu.Unlock()
			return nil, fmt.Errorf("%q: %w", key, err)
		}
		initial = make([]watchItem, len(snap))
		for i, e := range snap {
			initial[i] = watchItem{typ: watch.Added, obj: e.Obj}
		}
		if opts.SendInitialEvents != nil {
			initialEnd = c.rev
		}
	case rv == 0:
		// SendInitialEvents=false from "now".
	default:
		// Events up to rv that the cache has not received yet (rv may come
		// from a list of another prefix, read after the cache's last event)
		// are skipped by minRev when they arrive.
		w.minRev = rv
		events, ok := c.buf.since(rv)
		if !ok {
			c.mu.Unlock()
			return nil, fmt.Errorf("%q: %w: too old resource version: %d (the watch cache starts after %d)", key, ErrExpired, rv, c.buf.startRev)
		}
		for _, e := range events {
			if it, ok := w.convert(e); ok {
				initial = append(initial, it)
			}
		}
	}
	newFunc = c.newFunc
	c.nextID++
	w.id = c.nextID
	c.watchers[w.id] = w
	c.watcherList = nil
	c.mu.Unlock()

	go w.run(ctx, initial, initialEnd, newFunc)
	return w, nil
}

func (w *cacheWatcher) run(ctx context.Context, initial []watchItem, initialEnd int64, newFunc func() runtime.Object) {
	defer close(w.result)
	defer w.Stop()
	for _, e := range initial {
		if !w.deliver(ctx, e, newFunc) {
			return
		}
	}
	if initialEnd >= 0 {
		if newFunc == nil && len(initial) > 0 {
			sample := initial[0].obj
			newFunc = func() runtime.Object { return newLike(sample) }
		}
		if newFunc != nil {
			obj := newFunc()
			if acc, err := meta.Accessor(obj); err == nil {
				acc.SetAnnotations(map[string]string{InitialEventsAnnotation: "true"})
			}
			_ = setRV(obj, initialEnd)
			if !w.send(ctx, watch.Event{Type: watch.Bookmark, Object: obj}) {
				return
			}
		}
	}
	for {
		select {
		case e, ok := <-w.input:
			if !ok {
				return
			}
			if e.typ == watch.Bookmark {
				w.c.mu.RLock()
				newFunc = w.c.newFunc
				w.c.mu.RUnlock()
			}
			if !w.deliver(ctx, e, newFunc) {
				return
			}
		case <-w.stopCh:
			return
		case <-ctx.Done():
			return
		}
	}
}

// watchItem is what one watcher sees of a cache event, already filtered.
type watchItem struct {
	typ   watch.EventType
	obj   runtime.Object // shared with the cache: copied before sending
	rev   int64
	setRV bool       // set the copy's resourceVersion to rev
	enc   *encodings // obj's encodings, shared by the watchers of the event
}

// convert decides what w sees of e (called by the cacher before it
// sends, so that a watcher's buffer only holds events it will send).
func (w *cacheWatcher) convert(e cacheEvent) (watchItem, bool) {
	return w.convertAttrs(e, nil)
}

// convertAttrs is convert with the attributes of e's objects shared among
// the watchers of e (see eventAttrs).
func (w *cacheWatcher) convertAttrs(e cacheEvent, ea *eventAttrs) (watchItem, bool) {
	if !w.keys.matches(e.Key) || (w.minRev > 0 && e.Rev <= w.minRev) {
		return watchItem{}, false
	}
	typ, obj, needRV, ok, err := transitionAttrs(e, w.pred, ea)
	if err != nil {
		return watchItem{typ: watch.Error, obj: &metav1.Status{
			Status: metav1.StatusFailure, Code: 500, Reason: metav1.StatusReasonInternalError,
			Message: fmt.Sprintf("filtering %s: %v", e.Key, err),
		}}, true
	}
	if !ok {
		return watchItem{}, false
	}
	it := watchItem{typ: typ, obj: obj, rev: e.Rev, setRV: needRV}
	if obj == e.Obj {
		it.enc = e.enc
	}
	return it, true
}

// deliver sends an item to the consumer.
func (w *cacheWatcher) deliver(ctx context.Context, it watchItem, newFunc func() runtime.Object) bool {
	switch it.typ {
	case watch.Bookmark:
		if newFunc == nil {
			return true
		}
		obj := newFunc()
		_ = setRV(obj, max(it.rev, w.minRev))
		return w.send(ctx, watch.Event{Type: watch.Bookmark, Object: obj})
	case watch.Error:
		return w.send(ctx, watch.Event{Type: watch.Error, Object: it.obj})
	}
	if w.shared && !it.setRV {
		return w.send(ctx, watch.Event{Type: it.typ, Object: &SharedObject{Object: it.obj, enc: it.enc}})
	}
	// Every other watcher gets its own copy: consumers may set fields
	// without racing each other.
	obj := it.obj.DeepCopyObject()
	if it.setRV {
		_ = setRV(obj, it.rev)
	}
	return w.send(ctx, watch.Event{Type: it.typ, Object: obj})
}

func (w *cacheWatcher) send(ctx context.Context, ev watch.Event) bool {
	select {
	case w.result <- ev:
		return true
	case <-w.stopCh:
		return false
	case <-ctx.Done():
		return false
	}
}
