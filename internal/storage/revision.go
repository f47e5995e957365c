package storage

import (
	"context"
	"sync"
	"time"
)

// revisionReadTimeout bounds one shared read of etcd's current revision.
const revisionReadTimeout = 10 * time.Second

// revisionBatcher shares reads of etcd's current revision between
// concurrent callers without weakening them: a caller only ever waits for
// a read that STARTS after its own call, so the revision it gets is at
// least etcd's revision at the time of the call (what a linearizable read
// of its own would give). At most one read is in flight; callers arriving
// meanwhile all join the next one. Under load, N consistent reads from the
// watch cache then cost one etcd request instead of N.
type revisionBatcher struct {
	read func(ctx context.Context) (int64, error)

	mu       sync.Mutex
	inflight bool
	next     *revisionRead // the read that starts when the in-flight one ends
}

// revisionRead is one read of the current revision; done closes when rev
// and err are set.
type revisionRead struct {
	done chan struct{}
	rev  int64
	err  error
}

func newRevisionBatcher(read func(ctx context.Context) (int64, error)) *revisionBatcher {
	return &revisionBatcher{read: read}
}

// get returns a revision at least as new as etcd's current revision at the
// time of the call.
func (b *revisionBatcher) get(ctx context.Context) (int64, error) {
	b.mu.Lock()
	r := b.next
	if r == nil {
		r = &revisionRead{done: make(chan struct{})}
		b.next = r
		if !b.inflight {
			b.startLocked()
		}
	}
	b.mu.Unlock()
	select {
	case <-r.done:
		return r.rev, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// startLocked starts the read b.next; new callers wait for a later one.
func (b *revisionBatcher) startLocked() {
	r := b.next
	b.next = nil
	b.inflight = true
	go func() {
		// Not a caller's context: the read is shared, and one caller
		// giving up must not fail the others.
		ctx, cancel := context.WithTimeout(context.Background(), revisionReadTimeout)
		r.rev, r.err = b.read(ctx)
		cancel()
		close(r.done)
		b.mu.Lock()
		b.inflight = false
		if b.next != nil {
			b.startLocked()
		}
		b.mu.Unlock()
	}()
}
