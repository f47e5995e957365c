package storage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// compactRevKey records the last compaction, as kube-apiserver does; watch
// caches watch it to expire the events etcd no longer has.
const compactRevKey = "compact_rev_key"

// Compact removes etcd's history before revision rev. It first records rev
// under compact_rev_key so every watch cache drops its older events (a
// watch from before rev then gets 410 Expired). Compacting an already
// compacted revision is not an error.
func Compact(ctx context.Context, client *clientv3.Client, rev int64) error {
	if _, err := client.Put(ctx, compactRevKey, strconv.FormatInt(rev, 10)); err != nil {
		return wrapErr(compactRevKey, err)
	}
	if _, err := client.Compact(ctx, rev); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
		return fmt.Errorf("compacting etcd at revision %d: %w", rev, err)
	}
	return nil
}

// StartCompactor compacts etcd every interval until ctx ends, keeping
// between one and two intervals of history (kube-apiserver uses 5
// minutes): each tick compacts to the revision seen at the previous tick.
// Errors are retried at the next tick; onError (may be nil) sees them.
func StartCompactor(ctx context.Context, client *clientv3.Client, interval time.Duration, onError func(error)) {
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			resp, err := client.Get(ctx, compactRevKey, clientv3.WithCountOnly())
			if err != nil {
				if onError != nil {
					onError(wrapErr(compactRevKey, err))
				}
				continue
			}
			if last > 0 {
				if err := Compact(ctx, client, last); err != nil && onError != nil {
					onError(err)
				}
			}
			last = resp.Header.Revision
		}
	}()
}

// watchCompactions tells every watch cache about compactions recorded
// under compactRevKey (by this or another server).
func (s *Store) watchCompactions(ctx context.Context) {
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		for resp := range s.client.Watch(wctx, compactRevKey) {
			if resp.Err() != nil {
				break
			}
			for _, ev := range resp.Events {
				if ev.Type != clientv3.EventTypePut {
					continue
				}
				rev, err := strconv.ParseInt(string(ev.Kv.Value), 10, 64)
				if err != nil {
					continue
				}
				s.mu.Lock()
				caches := make([]*cacher, 0, len(s.caches))
				for _, c := range s.caches {
					caches = append(caches, c)
				}
				s.mu.Unlock()
				for _, c := range caches {
					c.compacted(rev)
				}
			}
		}
		cancel()
		sleepCtx(ctx, 100*time.Millisecond)
	}
}
