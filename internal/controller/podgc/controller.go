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
}

// Controller collects pods periodically.
type Controller struct {
	client kubernetes.Interface
	pods   corelisters.PodLister
	nodes  corelisters.NodeLister
	synced []cache.InformerSynced
	opts   Options
	clock  clock.Clock
	log    *slog.Logger
}

// New builds the collector; Run starts it.
func New(client kubernetes.Interface, pods coreinformers.PodInformer, nodes coreinformers.NodeInformer, opts Options, clk clock.Clock, log *slog.Logger) *Controller {
	if opts.Period <= 0 {
		opts.Period = 20 * time.Second
	}
	return &Controller{
		client: client, pods: pods.Lister(), nodes: nodes.Lister(),
		synced: []cache.InformerSynced{pods.Informer().HasSynced, nodes.Informer().HasSynced},
		opts:   opts, clock: clk, log: log,
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
// confirmed with a GET first, so a node created a moment ago is not
// taken for gone.
func (c *Controller) pass(ctx context.Context) {
	pods, err := c.pods.List(labels.Everything())
	if err != nil {
		return
	}
	confirmed := map[string]bool{}
	exists := func(name string) bool {
		if _, err := c.nodes.Get(name); err == nil {
			return true
		}
		if v, ok := confirmed[name]; ok {
			return v
		}
		_, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		confirmed[name] = !apierrors.IsNotFound(err) // on other errors assume it exists
		return confirmed[name]
	}
	zero := int64(0)
	for _, v := range Decide(pods, exists, c.opts.TerminatedThreshold) {
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
