package apiserver

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/peapod/peapod/internal/storage"
)

// namespaceCache keeps which namespaces exist and which are terminating,
// fed by one watch goroutine, so that a create does not cost an etcd read
// for its namespace (kube's NamespaceLifecycle uses an informer the same
// way). A namespace missing from the cache is looked up in storage.
type namespaceCache struct {
	mu     sync.RWMutex
	synced bool
	// state: true = terminating, false = active; absent = unknown
	state map[string]bool
}

// lookup returns (exists, terminating, known).
func (c *namespaceCache) lookup(ns string) (bool, bool, bool) {
	if c == nil {
		return false, false, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.synced {
		return false, false, false
	}
	term, ok := c.state[ns]
	return ok, term, ok
}

// Start runs the server's background work until ctx ends: the namespace
// cache's watch. Without Start every check reads storage.
func (s *Server) Start(ctx context.Context) {
	nsRes := s.lookup(schema.GroupVersion{Version: "v1"}, "namespaces")
	if nsRes == nil {
		return
	}
	c := &namespaceCache{state: map[string]bool{}}
	s.nsCache = c
	go func() {
		for ctx.Err() == nil {
			w, err := s.cfg.Storage.Watch(ctx, collectionKey(nsRes, ""), storage.ListOptions{Recursive: true})
			if err != nil {
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
				continue
			}
			c.mu.Lock()
			c.state, c.synced = map[string]bool{}, true
			c.mu.Unlock()
			for ev := range w.ResultChan() {
				acc, err := meta.Accessor(ev.Object)
				if err != nil {
					continue
				}
				c.mu.Lock()
				switch ev.Type {
				case watch.Added, watch.Modified:
					c.state[acc.GetName()] = acc.GetDeletionTimestamp() != nil
				case watch.Deleted:
					delete(c.state, acc.GetName())
				}
				c.mu.Unlock()
			}
			c.mu.Lock()
			c.synced = false
			c.mu.Unlock()
			w.Stop()
		}
	}()
}
