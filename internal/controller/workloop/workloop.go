// Package workloop is the informer + workqueue run loop the queue-driven
// controllers (namespace, nodelifecycle, serviceaccount) share: wait for the
// caches, run workers that hand each key to the controller's sync, requeue
// failures with the queue's rate limiter.
package workloop

import (
	"context"
	"time"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Queue is the rate-limited queue of keys a controller works on.
type Queue = workqueue.TypedRateLimitingInterface[string]

// Run waits for synced, then runs workers goroutines that hand each key of
// q to sync until ctx ends; q is shut down on return. A nil error from sync
// forgets the key's failures; any error requeues it rate-limited (sync does
// its own logging).
func Run(ctx context.Context, q Queue, synced []cache.InformerSynced, workers int, sync func(context.Context, string) error) {
	defer utilruntime.HandleCrash()
	defer q.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return
	}
	for range workers {
		go wait.UntilWithContext(ctx, func(ctx context.Context) {
			for processNext(ctx, q, sync) {
			}
		}, time.Second)
	}
	<-ctx.Done()
}

// processNext takes one key off q and hands it to sync; false once q is
// shut down.
func processNext(ctx context.Context, q Queue, sync func(context.Context, string) error) bool {
	key, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(key)
	if err := sync(ctx, key); err != nil {
		q.AddRateLimited(key)
		return true
	}
	q.Forget(key)
	return true
}
