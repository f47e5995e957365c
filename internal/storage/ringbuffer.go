package storage

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// cacheEvent is one change the watch cache saw. Obj is the new state (for
// DELETED the last state, with the deletion revision as resourceVersion);
// PrevObj the state before (nil for ADDED).
type cacheEvent struct {
	Type    watch.EventType
	Key     string
	Obj     runtime.Object
	PrevObj runtime.Object
	Rev     int64
	// enc memoizes the encodings of Obj, shared by the watchers that
	// send Obj itself (see SharedObject).
	enc *encodings
}

// ringBuffer keeps the most recent events in revision order. Every event
// with a revision above startRev is in the buffer.
type ringBuffer struct {
	events   []cacheEvent
	first    int // index of the oldest event
	n        int // number of events
	startRev int64
}

func newRingBuffer(capacity int, startRev int64) *ringBuffer {
	if capacity < 1 {
		capacity = 1
	}
	return &ringBuffer{events: make([]cacheEvent, capacity), startRev: startRev}
}

// reset empties the buffer; it covers the revisions after startRev.
func (r *ringBuffer) reset(startRev int64) {
	clear(r.events)
	r.first, r.n, r.startRev = 0, 0, startRev
}

// push appends e (whose revision must be above every buffered one),
// evicting the oldest event when full.
func (r *ringBuffer) push(e cacheEvent) {
	if r.n == len(r.events) {
		r.startRev = r.events[r.first].Rev
		r.events[r.first] = cacheEvent{}
		r.first = (r.first + 1) % len(r.events)
		r.n--
	}
	r.events[(r.first+r.n)%len(r.events)] = e
	r.n++
}

// compacted forgets the events etcd compacted away (revisions below
// compactRev), so that watches etcd would refuse expire here too: a watch
// from resourceVersion N needs the revisions from N+1 on.
func (r *ringBuffer) compacted(compactRev int64) {
	for r.n > 0 && r.events[r.first].Rev < compactRev {
		r.events[r.first] = cacheEvent{}
		r.first = (r.first + 1) % len(r.events)
		r.n--
	}
	if compactRev-1 > r.startRev {
		r.startRev = compactRev - 1
	}
}

// since returns the buffered events with a revision above rev, oldest
// first; ok is false when events after rev were already evicted.
func (r *ringBuffer) since(rev int64) (events []cacheEvent, ok bool) {
	if rev < r.startRev {
		return nil, false
	}
	for i := 0; i < r.n; i++ {
		e := r.events[(r.first+i)%len(r.events)]
		if e.Rev > rev {
			events = append(events, e)
		}
	}
	return events, true
}

func (r *ringBuffer) len() int { return r.n }
