package workloop

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// A key whose sync fails is retried until it succeeds; keys that succeed
// are synced once.
func TestRunRetriesFailures(t *testing.T) {
	q := workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Millisecond, 10*time.Millisecond))
	var mu sync.Mutex
	calls := map[string]int{}
	done := make(chan struct{})
	syncFn := func(_ context.Context, key string) error {
		mu.Lock()
		defer mu.Unlock()
		calls[key]++
		if key == "flaky" && calls[key] < 3 {
			return errors.New("not yet")
		}
		if calls["flaky"] == 3 && calls["ok"] == 1 {
			select {
			case <-done:
			default:
				close(done)
			}
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q.Add("ok")
	q.Add("flaky")
	finished := make(chan struct{})
	go func() {
		Run(ctx, q, []cache.InformerSynced{func() bool { return true }}, 2, syncFn)
		close(finished)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out; calls %v", calls)
	}
	cancel()
	<-finished
	if !q.ShuttingDown() {
		t.Error("queue not shut down after Run returned")
	}
	mu.Lock()
	defer mu.Unlock()
	if calls["ok"] != 1 || calls["flaky"] != 3 {
		t.Errorf("calls = %v, want ok:1 flaky:3", calls)
	}
	if n := q.NumRequeues("flaky"); n != 0 {
		t.Errorf("flaky requeues after success = %d, want 0 (forgotten)", n)
	}
}
