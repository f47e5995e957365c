package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// The watch cache: one cacher per resource prefix ("/registry/pods/")
// lists the prefix once, then keeps ONE etcd watch on it. It holds the
// current objects and a ring buffer of recent events, and fans the events
// out to any number of watchers. Its run goroutine is the only writer of
// its state; watchers register and read under mu.
//
//	            list ok              replay done (or skipped)
//	listing ───────────► replaying ──────────────────────► watching ◄─┐
//	  ▲  │ list failed: retry in 1s                          │  │       │ watch error:
//	  │  └──────┘                                            │  └───────┘ re-watch from rev+1
//	  └──────────────────────────────────────────────────────┘
//	     etcd compacted the cache's revision: relist, end every watcher
//
// Watches and lists wait until the first list (and replay) is done.

type cacherConfig struct {
	bufferSize       int
	watcherBuffer    int
	bookmarkInterval time.Duration
	tooLargeRVWait   time.Duration
	logger           *slog.Logger
}

// defaultWatcherBuffer is how many events a watcher may hold unsent: about
// a second of a busy resource, as kube-apiserver sizes its watchers'
// channels (from its cache's event rate, at most 1000).
const defaultWatcherBuffer = 1000

func defaultCacherConfig() cacherConfig {
	return cacherConfig{
		bufferSize:       1024,
		watcherBuffer:    defaultWatcherBuffer,
		bookmarkInterval: time.Second,
		tooLargeRVWait:   3 * time.Second,
		logger:           slog.Default(),
	}
}

var errCacheCompacted = errors.New("watch cache: etcd compacted the cache's revision")

type cacher struct {
	prefix  string
	store   *Store
	cfg     cacherConfig
	newFunc func() runtime.Object // may be nil until learned

	readyCh    chan struct{} // closed after the first list
	progressCh chan struct{} // nudges the watch loop to ask etcd for progress
	done       chan struct{}

	mu       sync.RWMutex
	rev      int64 // the cache reflects etcd up to this revision
	revCh    chan struct{}
	objects  map[string]runtime.Object
	buf      *ringBuffer
	watchers map[int64]*cacheWatcher
	// watcherList is watchers as a slice, rebuilt after a change.
	watcherList []*cacheWatcher
	nextID      int64

	budget timeBudget // of the run goroutine (dispatch)
}

func newCacher(prefix string, store *Store, newFunc func() runtime.Object) *cacher {
	return &cacher{
		prefix:     prefix,
		store:      store,
		cfg:        store.cacheCfg,
		newFunc:    newFunc,
		readyCh:    make(chan struct{}),
		progressCh: make(chan struct{}, 1),
		done:       make(chan struct{}),
		revCh:      make(chan struct{}),
		objects:    map[string]runtime.Object{},
		buf:        newRingBuffer(store.cacheCfg.bufferSize, 0),
		watchers:   map[int64]*cacheWatcher{},
		budget:     newTimeBudget(time.Now()),
	}
}

// resourcePrefix returns the cacher prefix of key: "/registry/pods/" for
// "/registry/pods", "/registry/pods/ns/" or "/registry/pods/ns/name".
func resourcePrefix(key string) (string, bool) {
	parts := strings.SplitN(strings.TrimPrefix(key, "/"), "/", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return "", false
	}
	return "/" + parts[0] + "/" + parts[1] + "/", true
}

// cacherFor returns the watch cache of key's resource, starting it if
// needed; nil if key has no resource or the store is closed.
func (s *Store) cacherFor(key string) *cacher {
	return s.lockedCacher(key, true)
}

// lockedCacher returns the watch cache of key's resource; a missing one
// is started when start is set. nil if key has no resource, the store is
// closed, or (without start) no cache runs.
func (s *Store) lockedCacher(key string, start bool) *cacher {
	prefix, ok := resourcePrefix(key)
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if c, ok := s.caches[prefix]; ok || !start {
		return c
	}
	if len(s.caches) == 0 {
		go s.watchCompactions(s.baseCtx)
	}
	newFunc := s.newFuncs[prefix]
	if newFunc == nil {
		if g, ok := s.codec.(interface {
			NewForResource(resource string) (runtime.Object, bool)
		}); ok {
			resource := strings.TrimSuffix(prefix[len("/registry/"):], "/")
			if obj, ok := g.NewForResource(resource); ok {
				newFunc = func() runtime.Object { return newLike(obj) }
			}
		}
	}
	c := newCacher(prefix, s, newFunc)
	s.caches[prefix] = c
	go c.run(s.baseCtx)
	return c
}

// Watch implements Interface through the watch cache.
func (s *Store) Watch(ctx context.Context, key string, opts ListOptions) (watch.Interface, error) {
	c := s.cacherFor(key)
	if c == nil {
		return nil, fmt.Errorf("%q: cannot watch: not a resource key or store closed", key)
	}
	return c.watch(ctx, key, opts)
}

func (c *cacher) wait() { <-c.done }

// run lists and watches until ctx ends.
func (c *cacher) run(ctx context.Context) {
	defer close(c.done)
	defer c.terminateAll()
	listed, first := false, true
	for ctx.Err() == nil {
		if !listed {
			if err := c.relist(ctx); err != nil {
				c.cfg.logger.Warn("watch cache: list failed", "prefix", c.prefix, "err", err)
				sleepCtx(ctx, time.Second)
				continue
			}
			listed = true
			if first && c.store.progressReliable() {
				c.replayHistory(ctx)
				first = false
			}
			c.markReady()
		}
		err := c.watchEtcd(ctx)
		if errors.Is(err, errCacheCompacted) {
			listed = false
			continue
		}
		if err != nil && ctx.Err() == nil {
			c.cfg.logger.Warn("watch cache: etcd watch ended", "prefix", c.prefix, "err", err)
			sleepCtx(ctx, 100*time.Millisecond)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// relist replaces the cache content with the current state of the prefix.
// Watchers of the old content are ended: their resourceVersions may point
// into the gap, so they re-watch (and get 410 if too old).
func (c *cacher) relist(ctx context.Context) error {
	resp, err := c.store.client.Get(ctx, c.prefix, clientv3.WithPrefix())
	if err != nil {
		return wrapErr(c.prefix, err)
	}
	decoded := make([]runtime.Object, len(resp.Kvs))
	_ = parallelRange(len(resp.Kvs), func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			kv := resp.Kvs[i]
			obj, err := c.store.decodeNew(ctx, kv.Key, kv.Value, kv.ModRevision)
			if err != nil {
				c.cfg.logger.Warn("watch cache: skipping undecodable object", "key", string(kv.Key), "err", err)
				continue
			}
			decoded[i] = obj
		}
		return nil
	})
	objects := make(map[string]runtime.Object, len(resp.Kvs))
	var sample runtime.Object
	for i, obj := range decoded {
		if obj != nil {
			objects[string(resp.Kvs[i].Key)] = obj
			sample = obj
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.objects = objects
	c.buf.reset(resp.Header.Revision)
	if c.newFunc == nil && sample != nil {
		c.learn(sample)
	}
	for _, w := range c.watchers {
		c.endLocked(w)
	}
	c.setRevLocked(resp.Header.Revision)
	return nil
}

func (c *cacher) markReady() {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.readyCh:
	default:
		close(c.readyCh)
	}
}

func (c *cacher) learn(sample runtime.Object) {
	c.newFunc = func() runtime.Object { return newLike(sample) }
}

func (c *cacher) setRevLocked(rev int64) {
	if rev > c.rev {
		c.rev = rev
		close(c.revCh)
		c.revCh = make(chan struct{})
	}
}

// decodeNew decodes a stored value into a new object of the kind it names.
func (s *Store) decodeNew(ctx context.Context, key, value []byte, rev int64) (runtime.Object, error) {
	plain, _, err := s.untransform(ctx, string(key), value)
	if err != nil {
		return nil, err
	}
	obj, err := s.codec.Decode(plain, nil)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", key, err)
	}
	if err := setRV(obj, rev); err != nil {
		return nil, fmt.Errorf("%q: %w", key, err)
	}
	return obj, nil
}

// watchEtcd follows the prefix from the cache's revision.
func (c *cacher) watchEtcd(ctx context.Context) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	c.mu.RLock()
	from := c.rev + 1
	c.mu.RUnlock()
	wch := c.store.client.Watch(wctx, c.prefix, clientv3.WithPrefix(), clientv3.WithRev(from), clientv3.WithProgressNotify())
	tick := time.NewTicker(c.cfg.bookmarkInterval)
	defer tick.Stop()
	progress := c.store.progressReliable()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.progressCh:
			if progress {
				_ = c.store.client.RequestProgress(wctx)
			}
		case <-tick.C:
			if progress {
				_ = c.store.client.RequestProgress(wctx)
			}
			c.sendBookmarks()
		case resp, ok := <-wch:
			if !ok {
				return errors.New("etcd watch channel closed")
			}
			if resp.CompactRevision != 0 {
				return errCacheCompacted
			}
			if err := resp.Err(); err != nil {
				return err
			}
			if resp.IsProgressNotify() {
				c.mu.Lock()
				c.setRevLocked(resp.Header.Revision)
				c.mu.Unlock()
				continue
			}
			c.apply(ctx, resp.Events)
		}
	}
}

// apply decodes etcd events, updates the cache and dispatches them.
func (c *cacher) apply(ctx context.Context, events []*clientv3.Event) {
	type decoded struct {
		ev  *clientv3.Event
		obj runtime.Object
	}
	ds := make([]decoded, 0, len(events))
	for _, ev := range events {
		d := decoded{ev: ev}
		if ev.Type == clientv3.EventTypePut {
			obj, err := c.store.decodeNew(ctx, ev.Kv.Key, ev.Kv.Value, ev.Kv.ModRevision)
			if err != nil {
				c.cfg.logger.Warn("watch cache: skipping undecodable object", "key", string(ev.Kv.Key), "err", err)
			}
			d.obj = obj
		}
		ds = append(ds, d)
	}
	c.mu.Lock()
	out := make([]cacheEvent, 0, len(ds))
	for _, d := range ds {
		key, rev := string(d.ev.Kv.Key), d.ev.Kv.ModRevision
		prev := c.objects[key]
		var e cacheEvent
		switch {
		case d.ev.Type == clientv3.EventTypePut && d.obj != nil:
			if c.newFunc == nil {
				c.learn(d.obj)
			}
			c.objects[key] = d.obj
			e = cacheEvent{Type: watch.Added, Key: key, Obj: d.obj, PrevObj: prev, Rev: rev}
			if prev != nil {
				e.Type = watch.Modified
			}
		case d.ev.Type == clientv3.EventTypeDelete && prev != nil:
			last := prev.DeepCopyObject()
			_ = setRV(last, rev)
			delete(c.objects, key)
			e = cacheEvent{Type: watch.Deleted, Key: key, Obj: last, PrevObj: prev, Rev: rev}
		default:
			c.setRevLocked(rev)
			continue
		}
		e.enc = &encodings{}
		c.buf.push(e)
		c.setRevLocked(rev)
		out = append(out, e)
	}
	// The watchers registered now get these events from dispatch, those
	// registering later from the buffer: each event reaches each watcher
	// once.
	watchers := c.watcherListLocked()
	c.mu.Unlock()
	c.dispatch(out, watchers)
}

// watcherListLocked returns the registered watchers.
func (c *cacher) watcherListLocked() []*cacheWatcher {
	if c.watcherList == nil {
		c.watcherList = make([]*cacheWatcher, 0, len(c.watchers))
		for _, w := range c.watchers {
			c.watcherList = append(c.watcherList, w)
		}
	}
	return c.watcherList
}

// dispatch sends events to watchers, outside the cache's lock (lists and
// new watches go on meanwhile). Only the run goroutine dispatches, and
// only it closes a watcher's input (ending it), so no send races a close.
// A watcher whose input is full is waited for within the cacher's time
// budget (see timeBudget), then ended.
func (c *cacher) dispatch(events []cacheEvent, watchers []*cacheWatcher) {
	var blocked []*cacheWatcher
	for _, e := range events {
		blocked = blocked[:0]
		var ea eventAttrs
		for _, w := range watchers {
			if w.ended {
				continue
			}
			it, ok := w.convertAttrs(e, &ea)
			if !ok {
				continue
			}
			select {
			case w.input <- it:
			case <-w.stopCh:
			default:
				w.pending = it
				blocked = append(blocked, w)
			}
		}
		if len(blocked) == 0 {
			continue
		}
		start := c.now()
		wait := c.budget.take(start)
		timer := time.NewTimer(wait)
		expired := wait <= 0
		for _, w := range blocked {
			if !expired {
				select {
				case w.input <- w.pending:
					w.pending = watchItem{}
					continue
				case <-w.stopCh:
					continue
				case <-timer.C:
					expired = true
				}
			}
			select {
			case w.input <- w.pending:
				w.pending = watchItem{}
			case <-w.stopCh:
			default:
				// The watcher cannot keep up: end it rather than stall
				// the others; its client re-watches from its last
				// resourceVersion.
				c.cfg.logger.Warn("watch cache: ending a watcher that fell behind",
					"prefix", c.prefix, "key", w.keys.key, "buffer", cap(w.input))
				c.end(w)
			}
		}
		timer.Stop()
		if !expired {
			c.budget.giveBack(wait - c.now().Sub(start))
		}
	}
}

func (c *cacher) now() time.Time { return time.Now() }

// end unregisters w and closes its input: it sends what it holds, then
// its result channel closes. Called by the run goroutine only.
func (c *cacher) end(w *cacheWatcher) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endLocked(w)
}

func (c *cacher) endLocked(w *cacheWatcher) {
	if w.ended {
		return
	}
	w.ended = true
	delete(c.watchers, w.id)
	c.watcherList = nil
	close(w.input)
}

// sendBookmarks offers a BOOKMARK at the cache's revision to every watcher
// that asked for them; a watcher with a full buffer skips this one.
func (c *cacher) sendBookmarks() {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.newFunc == nil {
		return
	}
	e := watchItem{typ: watch.Bookmark, rev: c.rev}
	for _, w := range c.watchers {
		if !w.bookmarks || w.ended {
			continue
		}
		select {
		case w.input <- e:
		default:
		}
	}
}

// compacted drops the buffered events etcd compacted away.
func (c *cacher) compacted(rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.compacted(rev)
}

func (c *cacher) terminateAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.watchers {
		c.endLocked(w)
	}
}

// remove unregisters w (Stop). It leaves w's input open: only the run
// goroutine closes inputs, and a dispatch in progress may still hold w
// (it skips w once w's stopCh is closed).
func (c *cacher) remove(w *cacheWatcher) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.watchers[w.id]; ok {
		delete(c.watchers, w.id)
		c.watcherList = nil
	}
}

func (c *cacher) waitReady(ctx context.Context) error {
	select {
	case <-c.readyCh:
		return nil
	case <-c.done:
		return errors.New("watch cache stopped")
	case <-ctx.Done():
		return wrapErr(c.prefix, ctx.Err())
	}
}

// waitForRev waits until the cache has seen revision rev, asking etcd for
// a progress notification; ErrTimeout ("too large resource version") after
// cfg.tooLargeRVWait.
func (c *cacher) waitForRev(ctx context.Context, rev int64) error {
	timer := time.NewTimer(c.cfg.tooLargeRVWait)
	defer timer.Stop()
	for {
		c.mu.RLock()
		cur, ch := c.rev, c.revCh
		c.mu.RUnlock()
		if cur >= rev {
			return nil
		}
		select {
		case c.progressCh <- struct{}{}:
		default:
		}
		select {
		case <-ch:
		case <-timer.C:
			return fmt.Errorf("%q: %w: too large resource version %d, the watch cache is at %d", c.prefix, ErrTimeout, rev, cur)
		case <-ctx.Done():
			return wrapErr(c.prefix, ctx.Err())
		case <-c.done:
			return errors.New("watch cache stopped")
		}
	}
}

// snapshotLocked returns the cached objects under keys that match pred,
// sorted by key.
func (c *cacher) snapshotLocked(keys keyFilter, pred SelectionPredicate) ([]cacheEvent, error) {
	var out []cacheEvent
	if !keys.recursive {
		if obj, ok := c.objects[keys.key]; ok {
			out = append(out, cacheEvent{Type: watch.Added, Key: keys.key, Obj: obj})
		}
	} else {
		out = make([]cacheEvent, 0, len(c.objects))
		for k, obj := range c.objects {
			if keys.matches(k) {
				out = append(out, cacheEvent{Type: watch.Added, Key: k, Obj: obj})
			}
		}
	}
	n := 0
	for _, e := range out {
		ok, err := pred.Matches(e.Obj)
		if err != nil {
			return nil, err
		}
		if ok {
			out[n] = e
			n++
		}
	}
	out = out[:n]
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// list serves GetList with resourceVersion "0" from the cache. The items
// are shallow copies of cached objects: callers must not modify their maps
// and slices.
func (c *cacher) list(ctx context.Context, key string, opts ListOptions, listObj runtime.Object) error {
	if err := c.waitReady(ctx); err != nil {
		return err
	}
	items, err := newListItems(listObj)
	if err != nil {
		return fmt.Errorf("%q: %w", key, err)
	}
	c.mu.RLock()
	snap, err := c.snapshotLocked(newKeyFilter(key, opts.Recursive), opts.Predicate)
	rev := c.rev
	c.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("%q: %w", key, err)
	}
	items.grow(len(snap))
	for _, e := range snap {
		if err := items.add(e.Obj); err != nil {
			return fmt.Errorf("%q: %w", key, err)
		}
	}
	return setListMeta(listObj, rev, "")
}

// checkRevExists returns ErrTimeout ("too large resource version") when
// rev is beyond etcd's current revision.
func (c *cacher) checkRevExists(ctx context.Context, rev int64) error {
	c.mu.RLock()
	cur := c.rev
	c.mu.RUnlock()
	if rev <= cur {
		return nil
	}
	etcdRev, err := c.store.CurrentRevision(ctx)
	if err != nil {
		return err
	}
	if rev > etcdRev {
		return fmt.Errorf("%q: %w: too large resource version %d, current %d", c.prefix, ErrTimeout, rev, etcdRev)
	}
	return nil
}

// StartWatchCache starts the watch caches of the resources of keys (such
// as "/registry/pods") and waits until they hold the current state. The
// server calls it at start for every resource so that watches from any
// later resourceVersion are served from the cache's history; a cache that
// starts on its first use cannot serve older resourceVersions on etcd
// older than 3.5.13 (they get 410 Expired and clients relist).
func (s *Store) StartWatchCache(ctx context.Context, keys ...string) error {
	for _, key := range keys {
		c := s.cacherFor(key)
		if c == nil {
			return fmt.Errorf("%q: cannot start a watch cache: not a resource key or store closed", key)
		}
		if err := c.waitReady(ctx); err != nil {
			return err
		}
	}
	return nil
}
