package namespace

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
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
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return
	}
	for range workers {
		go wait.UntilWithContext(ctx, c.worker, time.Second)
	}
	<-ctx.Done()
}

func (c *Controller) worker(ctx context.Context) {
	for c.processNext(ctx) {
	}
}

func (c *Controller) processNext(ctx context.Context) bool {
	name, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(name)
	retry, err := c.sync(ctx, name)
	switch {
	case err != nil:
		c.log.Warn("namespace deletion", "namespace", name, "err", err)
		c.queue.AddRateLimited(name)
	case retry:
		c.queue.AddRateLimited(name)
	default:
		c.queue.Forget(name)
	}
	return true
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
