package storage

import (
	"context"
	"reflect"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// startedCacher returns the watch cache of key's resource if it runs; it
// does not start one.
func (s *Store) startedCacher(key string) *cacher {
	return s.lockedCacher(key, false)
}

// consistentGetFromCache serves a Get of an existing object from the watch
// cache once the cache has caught up with etcd's current revision, so the
// answer is as fresh as a quorum read from etcd. Concurrent calls share
// the read of the current revision (CurrentRevision), which is what makes
// it cheaper than a read of the object from etcd under load. served is
// false when the caller must read etcd: no running cache, an etcd without
// ordered progress notifications, a cache that did not catch up in time,
// and a key the cache does not hold (so that NotFound and undecodable
// values are answered by etcd, exactly as before).
func (s *Store) consistentGetFromCache(ctx context.Context, key string, minRV int64, out runtime.Object) (served bool, err error) {
	c := s.startedCacher(key)
	if c == nil || !s.progressReliable() {
		return false, nil
	}
	select {
	case <-c.readyCh:
	default:
		return false, nil
	}
	rev, err := s.CurrentRevision(ctx)
	if err != nil {
		return false, err
	}
	if minRV > rev {
		return false, nil // etcd reports the too large resourceVersion
	}
	wctx, cancel := context.WithTimeout(ctx, consistentListWait)
	defer cancel()
	if err := c.waitForRev(wctx, rev); err != nil {
		return false, nil
	}
	c.mu.RLock()
	obj, ok := c.objects[key]
	c.mu.RUnlock()
	if !ok {
		return false, nil
	}
	dst := reflect.ValueOf(out)
	if dst.Kind() != reflect.Pointer || dst.IsNil() || dst.Type() != reflect.TypeOf(obj) {
		return false, nil
	}
	// Cached objects are shared: the caller gets its own copy, with an
	// empty TypeMeta as a decode from etcd gives.
	cp := obj.DeepCopyObject()
	cp.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	dst.Elem().Set(reflect.ValueOf(cp).Elem())
	return true, nil
}
