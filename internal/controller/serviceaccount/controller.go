package serviceaccount

import (
	"context"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/peapod/peapod/internal/controller/workloop"
)

// Controller keeps the default SA and kube-root-ca.crt per namespace.
type Controller struct {
	client kubernetes.Interface
	nsList corelisters.NamespaceLister
	saList corelisters.ServiceAccountLister
	cmList corelisters.ConfigMapLister
	synced []cache.InformerSynced
	queue  workqueue.TypedRateLimitingInterface[string]
	caPEM  []byte
	log    *slog.Logger
}

// New builds the controller; caPEM is published as kube-root-ca.crt.
func New(client kubernetes.Interface, namespaces coreinformers.NamespaceInformer, sas coreinformers.ServiceAccountInformer, cms coreinformers.ConfigMapInformer, caPEM []byte, log *slog.Logger) *Controller {
	c := &Controller{
		client: client,
		nsList: namespaces.Lister(), saList: sas.Lister(), cmList: cms.Lister(),
		synced: []cache.InformerSynced{namespaces.Informer().HasSynced, sas.Informer().HasSynced, cms.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 10*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "serviceaccount"}),
		caPEM: caPEM, log: log,
	}
	nsHandler := func(obj any) {
		if ns, ok := obj.(*corev1.Namespace); ok {
			c.queue.Add(ns.Name)
		}
	}
	namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: nsHandler, UpdateFunc: func(_, o any) { nsHandler(o) },
	})
	// An object of ours changed or went away: look at its namespace.
	named := func(name string) func(any) {
		return func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if m, err := metaAccessor(obj); err == nil && m.GetName() == name {
				c.queue.Add(m.GetNamespace())
			}
		}
	}
	saH := named(DefaultName)
	sas.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: saH})
	cmH := named(RootCAName)
	cms.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: cmH, UpdateFunc: func(_, o any) { cmH(o) }, DeleteFunc: cmH,
	})
	return c
}

// Run processes namespaces with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	workloop.Run(ctx, c.queue, c.synced, workers, c.syncKey)
}

// syncKey is sync for the work loop, logging failures (which it requeues).
func (c *Controller) syncKey(ctx context.Context, key string) error {
	err := c.sync(ctx, key)
	if err != nil {
		c.log.Warn("serviceaccount sync", "namespace", key, "err", err)
	}
	return err
}

func (c *Controller) sync(ctx context.Context, name string) error {
	ns, err := c.nsList.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	sa, err := c.saList.ServiceAccounts(name).Get(DefaultName)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	cm, err := c.cmList.ConfigMaps(name).Get(RootCAName)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	p := Decide(ns, sa, cm, c.caPEM)
	// Creates into a namespace that just started terminating fail with
	// Forbidden; the namespace controller is emptying it anyway.
	ignore := func(err error) error {
		if err == nil || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) || (apierrors.IsForbidden(err) && ns.DeletionTimestamp == nil && isTerminatingErr(err)) {
			return nil
		}
		return err
	}
	if p.CreateSA {
		_, err := c.client.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: DefaultName}}, metav1.CreateOptions{})
		if err := ignore(err); err != nil {
			return err
		}
	}
	if p.CreateCM != nil {
		_, err := c.client.CoreV1().ConfigMaps(name).Create(ctx, p.CreateCM, metav1.CreateOptions{})
		if err := ignore(err); err != nil {
			return err
		}
	}
	if p.UpdateCM != nil {
		_, err := c.client.CoreV1().ConfigMaps(name).Update(ctx, p.UpdateCM, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			return err // retried with fresh cache
		}
		if err := ignore(err); err != nil {
			return err
		}
	}
	return nil
}
