package namespace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/peapod/peapod/internal/controller/workloop"
)

// Controller empties terminating namespaces and finalizes them.
type Controller struct {
	client    kubernetes.Interface
	dynamic   dynamic.Interface
	discovery Discoverer
	lister    corelisters.NamespaceLister
	synced    cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
	clock     clock.PassiveClock
	log       *slog.Logger
}

// New builds the controller; Run starts it. A pod deleted from a
// terminating namespace triggers a pass at once (pods are what usually
// holds a namespace), instead of waiting for the retry backoff.
func New(client kubernetes.Interface, dyn dynamic.Interface, disc Discoverer, namespaces coreinformers.NamespaceInformer, pods coreinformers.PodInformer, clk clock.PassiveClock, log *slog.Logger) *Controller {
	c := &Controller{
		client: client, dynamic: dyn, discovery: disc,
		lister: namespaces.Lister(), synced: namespaces.Informer().HasSynced,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](200*time.Millisecond, 5*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "namespace"}),
		clock: clk, log: log,
	}
	enqueue := func(obj any) {
		if ns, ok := obj.(*corev1.Namespace); ok && NeedsDeletion(ns) {
			c.queue.Add(ns.Name)
		}
	}
	namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if p, ok := obj.(*corev1.Pod); ok {
			if ns, err := c.lister.Get(p.Namespace); err == nil && NeedsDeletion(ns) {
				c.queue.Add(ns.Name)
			}
		}
	}})
	c.synced = func() bool { return namespaces.Informer().HasSynced() && pods.Informer().HasSynced() }
	return c
}

// Run processes namespaces with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	workloop.Run(ctx, c.queue, []cache.InformerSynced{c.synced}, workers, c.syncKey)
}

// errRetry requeues a namespace whose deletion is not finished yet.
var errRetry = errors.New("namespace deletion not finished")

// syncKey adapts sync to the work loop: an error or an unfinished deletion
// requeues the namespace.
func (c *Controller) syncKey(ctx context.Context, name string) error {
	retry, err := c.sync(ctx, name)
	if err != nil {
		c.log.Warn("namespace deletion", "namespace", name, "err", err)
		return err
	}
	if retry {
		return errRetry
	}
	return nil
}

// sync runs one deletion pass for namespace name.
func (c *Controller) sync(ctx context.Context, name string) (retry bool, err error) {
	ns, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !NeedsDeletion(ns) {
		return false, nil
	}
	// Read through the API: the cache may lag behind a finalize.
	ns, err = c.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !NeedsDeletion(ns) {
		return false, nil
	}
	content := deleteContent(ctx, c.dynamic, c.discovery, name)
	d := Decide(ns, content, c.clock.Now())
	if d.Conditions != nil {
		upd := ns.DeepCopy()
		upd.Status.Conditions = d.Conditions
		if got, err := c.client.CoreV1().Namespaces().UpdateStatus(ctx, upd, metav1.UpdateOptions{}); err == nil {
			ns = got
		} else if apierrors.IsNotFound(err) {
			return false, nil
		} else {
			return true, err
		}
	}
	if !d.Finalize {
		return d.Retry, nil
	}
	fin := ns.DeepCopy()
	fin.Spec.Finalizers = WithoutFinalizer(fin.Spec.Finalizers)
	if _, err := c.client.CoreV1().Namespaces().Finalize(ctx, fin, metav1.UpdateOptions{}); err != nil {
		// NotFound is fine only if the namespace itself is gone (a server
		// without the finalize subresource answers 404 too).
		if !apierrors.IsNotFound(err) {
			return true, err
		}
		if _, gerr := c.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(gerr) {
			return true, fmt.Errorf("finalize: %w", err)
		}
	}
	c.log.Info("namespace emptied and finalized", "namespace", name)
	return false, nil
}
