package storage

import (
	"context"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/metadata"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// replayHistory fills a new cache's ring buffer with the events etcd still
// has from before the cache's first list (up to the buffer's size), so a
// watch from a recent resourceVersion works even when it is the first
// watch of its resource. Best effort: on any trouble the buffer simply
// starts at the list's revision.
func (c *cacher) replayHistory(ctx context.Context) {
	c.mu.RLock()
	listRev := c.rev
	c.mu.RUnlock()
	from := max(listRev-int64(c.cfg.bufferSize)+1, 1)
	if from > listRev {
		return
	}
	// A stream of its own, so progress requests are answered as soon as
	// this one watcher has caught up.
	rctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(ctx, "peapod-cache-replay", c.prefix), 3*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var hist []cacheEvent
restart:
	wch := c.store.client.Watch(rctx, c.prefix, clientv3.WithPrefix(), clientv3.WithRev(from), clientv3.WithPrevKV())
	for {
		select {
		case <-rctx.Done():
			return
		case <-tick.C:
			_ = c.store.client.RequestProgress(rctx)
		case resp, ok := <-wch:
			if !ok {
				return
			}
			if resp.CompactRevision != 0 {
				if resp.CompactRevision > listRev {
					return
				}
				from, hist = resp.CompactRevision, nil
				goto restart
			}
			if resp.Err() != nil {
				return
			}
			done := resp.IsProgressNotify() && resp.Header.Revision >= listRev
			for _, ev := range resp.Events {
				if ev.Kv.ModRevision > listRev {
					done = true
					break
				}
				if e, ok := c.historyEvent(ctx, ev); ok {
					hist = append(hist, e)
				}
			}
			if done {
				c.mu.Lock()
				c.buf.reset(from - 1)
				for _, e := range hist {
					c.buf.push(e)
				}
				c.mu.Unlock()
				return
			}
		}
	}
}

// historyEvent turns a past etcd event (with its previous value) into a
// cache event.
func (c *cacher) historyEvent(ctx context.Context, ev *clientv3.Event) (cacheEvent, bool) {
	key, rev := string(ev.Kv.Key), ev.Kv.ModRevision
	var prev runtime.Object
	if ev.PrevKv != nil {
		p, err := c.store.decodeNew(ctx, ev.PrevKv.Key, ev.PrevKv.Value, ev.PrevKv.ModRevision)
		if err != nil {
			return cacheEvent{}, false
		}
		prev = p
	}
	if ev.Type == clientv3.EventTypeDelete {
		if prev == nil {
			return cacheEvent{}, false
		}
		last := prev.DeepCopyObject()
		_ = setRV(last, rev)
		return cacheEvent{Type: watch.Deleted, Key: key, Obj: last, PrevObj: prev, Rev: rev}, true
	}
	obj := c.cachedAt(key, rev)
	if obj == nil {
		var err error
		if obj, err = c.store.decodeNew(ctx, ev.Kv.Key, ev.Kv.Value, rev); err != nil {
			return cacheEvent{}, false
		}
	}
	e := cacheEvent{Type: watch.Added, Key: key, Obj: obj, PrevObj: prev, Rev: rev}
	if prev != nil {
		e.Type = watch.Modified
	}
	return e, true
}

// cachedAt returns the cached object of key if it is the version written
// at rev (history events share it instead of holding a second copy).
func (c *cacher) cachedAt(key string, rev int64) runtime.Object {
	c.mu.RLock()
	obj := c.objects[key]
	c.mu.RUnlock()
	if obj == nil {
		return nil
	}
	acc, err := meta.Accessor(obj)
	if err != nil || acc.GetResourceVersion() != strconv.FormatInt(rev, 10) {
		return nil
	}
	return obj
}
