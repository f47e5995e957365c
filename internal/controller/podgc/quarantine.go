package podgc

import "time"

// nodeTracker remembers since when each node has been seen missing, so a
// pod is orphaned only once its node has been gone for the quarantine
// (kube's podgc waits 40 s): a node deleted and recreated, or a pod bound
// to a node about to register, is left alone. Owned by the pass goroutine.
type nodeTracker struct {
	quarantine   time.Duration
	missingSince map[string]time.Time
}

func newNodeTracker(q time.Duration) *nodeTracker {
	return &nodeTracker{quarantine: q, missingSince: map[string]time.Time{}}
}

// seen records that node exists now.
func (t *nodeTracker) seen(node string) { delete(t.missingSince, node) }

// gone records that node is missing at now and says whether it has been
// missing for the whole quarantine.
func (t *nodeTracker) gone(node string, now time.Time) bool {
	first, ok := t.missingSince[node]
	if !ok {
		t.missingSince[node] = now
		first = now
	}
	return now.Sub(first) >= t.quarantine
}

// forgetExcept drops nodes not in keep (no pod references them any more).
func (t *nodeTracker) forgetExcept(keep map[string]bool) {
	for n := range t.missingSince {
		if !keep[n] {
			delete(t.missingSince, n)
		}
	}
}
