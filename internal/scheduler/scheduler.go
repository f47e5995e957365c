package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"reflect"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/peapod/peapod/internal/scheduler/fit"
)

// DefaultSchedulerName is the spec.schedulerName this scheduler serves.
const DefaultSchedulerName = corev1.DefaultSchedulerName

// Options configure a Scheduler. Zero values take the defaults.
type Options struct {
	// SchedulerName is the spec.schedulerName served (an empty one counts
	// as the default). Default "default-scheduler"; it is also the event
	// source.
	SchedulerName string
	// LeaderElection makes Run campaign for the Lease
	// LeaseNamespace/LeaseName and schedule only while it holds it.
	LeaderElection bool
	LeaseNamespace string // default kube-system
	LeaseName      string // default peapod-scheduler
	Identity       string // default <hostname>_<uuid>
	LeaseDuration  time.Duration
	RenewDeadline  time.Duration
	RetryPeriod    time.Duration
	// InitialBackoff and MaxBackoff bound the retry of unschedulable pods
	// (default 1 s doubling to 10 s); pods are also retried at once when
	// a node is added or changes or an assigned pod goes away.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// Binders is how many bindings may be in flight (default 128).
	Binders int
	// PercentageOfNodesToScore as kube's (0: adaptive).
	PercentageOfNodesToScore int
	// Clock drives back-off and timestamps (default the real clock).
	Clock clock.WithTicker
	// Rand breaks ties between equally good nodes (default seeded from
	// the runtime). Only the scheduling goroutine uses it.
	Rand *rand.Rand
	// Recorder receives the Scheduled and FailedScheduling events
	// (default: a broadcaster writing core/v1 Events through the client,
	// aggregating repeats).
	Recorder record.EventRecorder
	Log      *slog.Logger
}

func (o *Options) defaults() {
	if o.SchedulerName == "" {
		o.SchedulerName = DefaultSchedulerName
	}
	if o.LeaseNamespace == "" {
		o.LeaseNamespace = metav1.NamespaceSystem
	}
	if o.LeaseName == "" {
		o.LeaseName = "peapod-scheduler"
	}
	if o.Identity == "" {
		host, _ := os.Hostname()
		o.Identity = host + "_" + string(uuid.NewUUID())
	}
	if o.LeaseDuration == 0 {
		o.LeaseDuration = 15 * time.Second
	}
	if o.RenewDeadline == 0 {
		o.RenewDeadline = 10 * time.Second
	}
	if o.RetryPeriod == 0 {
		o.RetryPeriod = 2 * time.Second
	}
	if o.InitialBackoff == 0 {
		o.InitialBackoff = time.Second
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 10 * time.Second
	}
	if o.Binders == 0 {
		o.Binders = 128
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Rand == nil {
		o.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Scheduler assigns pending pods to nodes. Create it with New and call Run.
type Scheduler struct {
	client kubernetes.Interface
	opts   Options
}

// New returns a Scheduler using client for everything it reads and writes.
func New(client kubernetes.Interface, opts Options) *Scheduler {
	opts.defaults()
	return &Scheduler{client: client, opts: opts}
}

// Run schedules until ctx ends. With Options.LeaderElection (what `peapod
// server` uses) it first campaigns for the Lease and schedules only while
// it leads; losing the lease stops scheduling and it campaigns again.
func (s *Scheduler) Run(ctx context.Context) error {
	if !s.opts.LeaderElection {
		return s.run(ctx)
	}
	for ctx.Err() == nil {
		if err := s.term(ctx); err != nil {
			return err
		}
	}
	return nil
}

// term campaigns for the Lease and schedules while holding it; it returns
// when leadership is lost (nil) or scheduling failed.
func (s *Scheduler) term(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	leading := make(chan context.Context, 1)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: s.opts.LeaseNamespace, Name: s.opts.LeaseName},
			Client:     s.client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: s.opts.Identity},
		},
		LeaseDuration:   s.opts.LeaseDuration,
		RenewDeadline:   s.opts.RenewDeadline,
		RetryPeriod:     s.opts.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            s.opts.LeaseName,
		Callbacks: leaderelection.LeaderCallbacks{
			// The work runs here, in Run's goroutine, not in the
			// elector's callback goroutine.
			OnStartedLeading: func(lctx context.Context) { leading <- lctx },
			OnStoppedLeading: func() { s.opts.Log.Info("stopped leading", "identity", s.opts.Identity) },
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	elected := make(chan struct{})
	go func() {
		defer close(elected)
		le.Run(ctx)
	}()
	select {
	case lctx := <-leading:
		s.opts.Log.Info("became leader", "lease", s.opts.LeaseNamespace+"/"+s.opts.LeaseName, "identity", s.opts.Identity)
		err = s.run(lctx)
		cancel()
	case <-elected:
	}
	<-elected
	return err
}

// loop is one term of scheduling: informers, queue, cache, workers.
type loop struct {
	*Scheduler
	ctx      context.Context
	queue    workqueue.TypedRateLimitingInterface[string]
	pods     corelisters.PodLister
	cache    *nodeCache
	recorder record.EventRecorder
	binders  chan struct{}
	inflight sync.WaitGroup

	mu            sync.Mutex
	unschedulable map[string]struct{} // keys waiting for a cluster change
}

func (s *Scheduler) run(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(s.client, 0)
	podInformer := factory.Core().V1().Pods()
	nodeInformer := factory.Core().V1().Nodes()
	l := &loop{
		Scheduler: s,
		ctx:       ctx,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](s.opts.InitialBackoff, s.opts.MaxBackoff),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "scheduler", Clock: s.opts.Clock}),
		pods:          podInformer.Lister(),
		cache:         newNodeCache(),
		recorder:      s.opts.Recorder,
		binders:       make(chan struct{}, s.opts.Binders),
		unschedulable: map[string]struct{}{},
	}
	if l.recorder == nil {
		b := record.NewBroadcasterWithCorrelatorOptions(record.CorrelatorOptions{Clock: s.opts.Clock})
		b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: s.client.CoreV1().Events("")})
		defer b.Shutdown()
		l.recorder = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: s.opts.SchedulerName})
	}
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: l.podChanged,
		UpdateFunc: func(old, obj any) {
			// A pending pod whose spec and labels did not change (say, our
			// own status patch) has nothing new to try.
			o, ok1 := old.(*corev1.Pod)
			p, ok2 := obj.(*corev1.Pod)
			if ok1 && ok2 && p.Spec.NodeName == "" && o.Spec.NodeName == "" &&
				reflect.DeepEqual(o.Spec, p.Spec) && reflect.DeepEqual(o.Labels, p.Labels) && (o.DeletionTimestamp == nil) == (p.DeletionTimestamp == nil) {
				return
			}
			l.podChanged(obj)
		},
		DeleteFunc: l.podDeleted,
	}); err != nil {
		return err
	}
	if _, err := nodeInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { l.nodeChanged(nil, obj) },
		UpdateFunc: l.nodeChanged,
		DeleteFunc: l.nodeDeleted,
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("scheduler: %v informer did not sync", typ)
		}
	}
	s.opts.Log.Info("scheduler started")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for l.processNext() {
		}
	}()
	<-ctx.Done()
	l.queue.ShutDown()
	<-done
	l.inflight.Wait()
	return nil
}

// needsScheduling is the queue's admission rule: no node yet, our
// scheduler, not being deleted, not finished, not gated.
func (s *Scheduler) needsScheduling(p *corev1.Pod) bool {
	return p.Spec.NodeName == "" &&
		(p.Spec.SchedulerName == "" || p.Spec.SchedulerName == s.opts.SchedulerName) &&
		p.DeletionTimestamp == nil && !terminal(p) && len(p.Spec.SchedulingGates) == 0
}

func podKey(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

func (l *loop) podChanged(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if p.Spec.NodeName != "" {
		l.cache.setPod(p)
		l.dropUnschedulable(podKey(p))
		if terminal(p) {
			l.retryUnschedulable()
		}
		return
	}
	if l.needsScheduling(p) {
		l.queue.Add(podKey(p))
	}
}

func (l *loop) podDeleted(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	l.dropUnschedulable(podKey(p))
	l.queue.Forget(podKey(p)) // a new pod of the same name starts a fresh back-off
	if l.cache.isAssigned(p.UID) {
		l.cache.removePod(p.UID)
		l.retryUnschedulable()
	}
}

func (l *loop) nodeChanged(old, obj any) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	l.cache.setNode(n)
	if o, ok := old.(*corev1.Node); ok && !schedulingPropertiesChanged(o, n) {
		return
	}
	l.retryUnschedulable()
}

func (l *loop) nodeDeleted(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if n, ok := obj.(*corev1.Node); ok {
		l.cache.deleteNode(n.Name)
	}
}

// retryUnschedulable puts every pod that waits for a cluster change back
// in the queue now.
func (l *loop) retryUnschedulable() {
	l.mu.Lock()
	keys := l.unschedulable
	l.unschedulable = map[string]struct{}{}
	l.mu.Unlock()
	for k := range keys {
		l.queue.Add(k)
	}
}

func (l *loop) markUnschedulable(key string) {
	l.mu.Lock()
	l.unschedulable[key] = struct{}{}
	l.mu.Unlock()
}

func (l *loop) dropUnschedulable(key string) {
	l.mu.Lock()
	delete(l.unschedulable, key)
	l.mu.Unlock()
}

// processNext schedules one pod; false when the queue is shut down.
func (l *loop) processNext() bool {
	key, quit := l.queue.Get()
	if quit {
		return false
	}
	defer l.queue.Done(key)
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		l.queue.Forget(key)
		return true
	}
	pod, err := l.pods.Pods(ns).Get(name)
	if err != nil || !l.needsScheduling(pod) || l.cache.isAssigned(pod.UID) {
		l.queue.Forget(key)
		l.dropUnschedulable(key)
		return true
	}
	fp := fit.NewPod(pod)
	numNodes, res := l.cache.schedule(fp, l.opts.PercentageOfNodesToScore, l.opts.Rand)
	if res.Node == "" {
		l.unschedulableFailure(key, pod, fit.Message(pod, numNodes, res.Rejected))
		return true
	}
	l.dropUnschedulable(key)
	l.binders <- struct{}{}
	l.inflight.Add(1)
	go func() {
		defer func() { <-l.binders; l.inflight.Done() }()
		l.bind(key, pod, res.Node)
	}()
	return true
}

// bind POSTs the binding; on failure the assumed pod is forgotten and
// the pod retried with back-off.
func (l *loop) bind(key string, pod *corev1.Pod, node string) {
	b := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}
	err := l.client.CoreV1().Pods(pod.Namespace).Bind(l.ctx, b, metav1.CreateOptions{})
	if err == nil {
		l.queue.Forget(key)
		l.recorder.Eventf(pod, corev1.EventTypeNormal, "Scheduled", "Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, node)
		return
	}
	l.cache.forget(pod.UID)
	if l.ctx.Err() != nil || apierrors.IsNotFound(err) {
		return
	}
	l.opts.Log.Warn("binding failed", "pod", key, "node", node, "err", err)
	if apierrors.IsConflict(err) {
		// Already bound or being deleted: the informer will tell.
		l.queue.AddRateLimited(key)
		return
	}
	msg := fmt.Sprintf("Binding rejected: %v", err)
	l.recorder.Event(pod, corev1.EventTypeWarning, "FailedScheduling", msg)
	l.patchCondition(pod, corev1.PodReasonSchedulerError, msg)
	l.queue.AddRateLimited(key)
}

// unschedulableFailure reports a pod that fits no node and schedules its
// retry: at once on a cluster change, else after the back-off.
func (l *loop) unschedulableFailure(key string, pod *corev1.Pod, msg string) {
	l.markUnschedulable(key)
	l.queue.AddRateLimited(key)
	l.recorder.Event(pod, corev1.EventTypeWarning, "FailedScheduling", msg)
	l.patchCondition(pod, corev1.PodReasonUnschedulable, msg)
}

// patchCondition sets PodScheduled=False with reason and message through
// pods/status, unless the pod already says so.
func (l *loop) patchCondition(pod *corev1.Pod, reason, msg string) {
	patch, ok := scheduledFalsePatch(pod, reason, msg, l.opts.Clock.Now())
	if !ok {
		return
	}
	_, err := l.client.CoreV1().Pods(pod.Namespace).Patch(l.ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil && !apierrors.IsNotFound(err) && l.ctx.Err() == nil {
		l.opts.Log.Warn("updating PodScheduled condition", "pod", podKey(pod), "err", err)
	}
}
