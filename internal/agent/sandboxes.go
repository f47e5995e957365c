package agent

import (
	"context"
	"sync"
	"time"
)

// sandboxLister shares the full sandbox lists the pod workers make now
// and then (to find sandboxes they do not know of) between the workers:
// a full list reads the status of every sandbox, so one list per worker
// every fullListEvery cost the node O(pods²) status reads (110 pods:
// 400 a second, four times the workers' own per-sandbox reads).
// Workers take from it only which sandboxes each pod has; they read the
// status of their own sandboxes themselves, fresh.
type sandboxLister struct {
	rt SandboxRuntime

	mu    sync.Mutex // held while listing: concurrent callers wait and share
	at    time.Time  // when the last list was started
	byUID map[string][]string
}

// list returns the sandbox IDs by pod UID of a full list started at or
// after notBefore, listing again (as of now) when the last one is older.
// The map is shared: callers must not modify it.
func (l *sandboxLister) list(ctx context.Context, notBefore, now time.Time) (map[string][]string, time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byUID != nil && !l.at.Before(notBefore) {
		return l.byUID, l.at, nil
	}
	all, err := l.rt.ListPodSandboxes(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	byUID := map[string][]string{}
	for _, sb := range all {
		byUID[sb.UID] = append(byUID[sb.UID], sb.ID)
	}
	l.byUID, l.at = byUID, now
	return byUID, now, nil
}
