package nodelifecycle

import (
	"context"
	"errors"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	coordinformers "k8s.io/client-go/informers/coordination/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	coordlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/peapod/peapod/internal/controller/workloop"
)

// Options are the controller's timings.
type Options struct {
	// MonitorPeriod: how often every node is checked (5s).
	MonitorPeriod time.Duration
	// GracePeriod: how old the last heartbeat may be (40s).
	GracePeriod time.Duration
}

const podsByNode = "nodeName"

// Controller watches node heartbeats.
type Controller struct {
	client   kubernetes.Interface
	nodes    corelisters.NodeLister
	leases   coordlisters.LeaseLister
	podIndex cache.Indexer
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	opts     Options
	clock    clock.Clock
	events   record.EventRecorder
	log      *slog.Logger
}

// New builds the controller; Run starts it.
//
// events records NodeNotReady on the node ("Node <n> status is now:
// NodeNotReady") and on each pod marked lost ("Node is not ready"), as kube.
func New(client kubernetes.Interface, nodes coreinformers.NodeInformer, leases coordinformers.LeaseInformer, pods coreinformers.PodInformer, opts Options, clk clock.Clock, events record.EventRecorder, log *slog.Logger) *Controller {
	if opts.MonitorPeriod <= 0 {
		opts.MonitorPeriod = 5 * time.Second
	}
	if opts.GracePeriod <= 0 {
		opts.GracePeriod = 40 * time.Second
	}
	pi := pods.Informer()
	// Best effort: the indexer may already exist (shared informer).
	_ = pi.AddIndexers(cache.Indexers{podsByNode: func(obj any) ([]string, error) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
			return []string{p.Spec.NodeName}, nil
		}
		return nil, nil
	}})
	c := &Controller{
		client: client, nodes: nodes.Lister(), leases: leases.Lister(), podIndex: pi.GetIndexer(),
		synced: []cache.InformerSynced{nodes.Informer().HasSynced, leases.Informer().HasSynced, pi.HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 10*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "nodelifecycle"}),
		opts: opts, clock: clk, events: events, log: log,
	}
	nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.enqueue(obj) },
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
	})
	return c
}

func (c *Controller) enqueue(obj any) {
	if n, ok := obj.(*corev1.Node); ok {
		c.queue.Add(n.Name)
	}
}

// Run checks every node each MonitorPeriod, and on node updates, until
// ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	go wait.UntilWithContext(ctx, c.enqueueAll, c.opts.MonitorPeriod)
	workloop.Run(ctx, c.queue, c.synced, workers, c.syncKey)
}

// enqueueAll queues every node for a check (the MonitorPeriod tick).
func (c *Controller) enqueueAll(context.Context) {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return
	}
	for _, n := range nodes {
		c.queue.Add(n.Name)
	}
}

// syncKey is sync for the work loop, logging failures other than
// conflicts (all of which it requeues).
func (c *Controller) syncKey(ctx context.Context, key string) error {
	err := c.sync(ctx, key)
	if err != nil && !apierrors.IsConflict(err) {
		c.log.Warn("node lifecycle", "node", key, "err", err)
	}
	return err
}

func (c *Controller) sync(ctx context.Context, name string) error {
	node, err := c.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	lease, err := c.leases.Leases(LeaseNamespace).Get(name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	now := c.clock.Now()
	d := DecideNode(node, lease, now, c.opts.GracePeriod)
	if d.Conditions != nil {
		upd := node.DeepCopy()
		upd.Status.Conditions = d.Conditions
		got, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, upd, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		if r := condition(node, corev1.NodeReady); r == nil || r.Status != corev1.ConditionUnknown {
			c.events.Eventf(nodeRef(node), corev1.EventTypeNormal, "NodeNotReady", "Node %s status is now: NodeNotReady", name)
		}
		node = got
		c.log.Info("node stopped reporting; conditions set to Unknown", "node", name)
	}
	if d.AddTaint || d.RemoveTaint {
		upd := node.DeepCopy()
		if d.AddTaint {
			upd.Spec.Taints = TaintsWith(upd.Spec.Taints, now)
		} else {
			upd.Spec.Taints = TaintsWithout(upd.Spec.Taints)
		}
		if _, err := c.client.CoreV1().Nodes().Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	if !d.Lost {
		return nil
	}
	objs, err := c.podIndex.ByIndex(podsByNode, name)
	if err != nil {
		return err
	}
	var errs []error
	for _, o := range objs {
		pod := o.(*corev1.Pod)
		st := DecidePod(pod, now)
		if st == nil {
			continue
		}
		upd := pod.DeepCopy()
		upd.Status = *st
		_, err := c.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{})
		switch {
		case err == nil && pod.Status.Phase != corev1.PodUnknown:
			c.events.Event(pod, corev1.EventTypeWarning, "NodeNotReady", "Node is not ready")
		case err != nil && !apierrors.IsNotFound(err):
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// nodeRef is the event subject for a node (kube uses the node's name as
// UID so events of a recreated node group together).
func nodeRef(n *corev1.Node) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "Node", Name: n.Name, UID: types.UID(n.Name)}
}
