package podgc

import (
	"context"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// Options are the collector's settings.
type Options struct {
	// Period between passes (20s, as kube's gcCheckPeriod).
	Period time.Duration
	// TerminatedThreshold caps Succeeded/Failed pods; 0 disables.
	TerminatedThreshold int
	// Quarantine: how long a node must be missing before its pods are
	// orphans (40s).
	Quarantine time.Duration
}

// Controller collects pods periodically.
type Controller struct {
	client kubernetes.Interface
	pods   corelisters.PodLister
	nodes  corelisters.NodeLister
	synced []cache.InformerSynced
	opts   Options
	clock  clock.Clock
	nodeTr *nodeTracker
	log    *slog.Logger
}

// New builds the collector; Run starts it.
func New(client kubernetes.Interface, pods coreinformers.PodInformer, nodes coreinformers.NodeInformer, opts Options, clk clock.Clock, log *slog.Logger) *Controller {
	if opts.Period <= 0 {
		opts.Period = 20 * time.Second
	}
	if opts.Quarantine <= 0 {
		opts.Quarantine = 40 * time.Second
	}
	return &Controller{
		client: client, pods: pods.Lister(), nodes: nodes.Lister(),
		synced: []cache.InformerSynced{pods.Informer().HasSynced, nodes.Informer().HasSynced},
		opts:   opts, clock: clk, log: log, nodeTr: newNodeTracker(opts.Quarantine),
	}
}

// Run runs a pass every Period until ctx ends (workers is unused: one
// goroutine owns the pass).
func (c *Controller) Run(ctx context.Context, _ int) {
	defer utilruntime.HandleCrash()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	wait.UntilWithContext(ctx, c.pass, c.opts.Period)
}

// pass deletes this round's victims. A node missing from the cache is
// confirmed with a GET, and must stay missing for the quarantine before
// its pods count as orphans.
func (c *Controller) pass(ctx context.Context) {
	pods, err := c.pods.List(labels.Everything())
	if err != nil {
		return
	}
	now := c.clock.Now()
	confirmed := map[string]bool{}
	referenced := map[string]bool{}
	exists := func(name string) bool {
		referenced[name] = true
		if v, ok := confirmed[name]; ok {
			return v
		}
		_, err := c.nodes.Get(name)
		if err != nil {
			_, err = c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		}
		if !apierrors.IsNotFound(err) { // on other errors assume it exists
			c.nodeTr.seen(name)
			confirmed[name] = true
		} else {
			confirmed[name] = !c.nodeTr.gone(name, now)
		}
		return confirmed[name]
	}
	victims := Decide(pods, exists, c.opts.TerminatedThreshold)
	c.nodeTr.forgetExcept(referenced)
	zero := int64(0)
	for _, v := range victims {
		opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &v.Pod.UID}}
		if v.Reason != ReasonTerminated {
			opts.GracePeriodSeconds = &zero
		}
		err := c.client.CoreV1().Pods(v.Pod.Namespace).Delete(ctx, v.Pod.Name, opts)
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			c.log.Warn("podgc: delete", "pod", v.Pod.Namespace+"/"+v.Pod.Name, "reason", v.Reason, "err", err)
			continue
		}
		if err == nil {
			c.log.Info("podgc: deleted pod", "pod", v.Pod.Namespace+"/"+v.Pod.Name, "node", v.Pod.Spec.NodeName, "reason", v.Reason)
		}
	}
}
