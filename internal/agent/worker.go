package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"

	"github.com/peapod/peapod/internal/agent/plan"
	"github.com/peapod/peapod/internal/agent/prober"
	"github.com/peapod/peapod/internal/agent/tick"
	"github.com/peapod/peapod/internal/agent/volume"
	"github.com/peapod/peapod/internal/runtime"
)

// deps are what every worker shares, fixed when the Manager is built.
type deps struct {
	rt             Runtime
	volumes        *volume.Manager
	status         StatusSink
	hooks          Hooks
	prober         *prober.Manager // nil: no probes
	events         Recorder
	dataDir        string
	nodeName       string
	hostIP         string
	clusterDomain  string
	hostResolvConf []byte
	now            func() time.Time
	resync         time.Duration
	idleResync     time.Duration
	// exitsWatched is set while the runtime reports exits (ExitWatcher):
	// settled pods then resync every idleResync.
	exitsWatched atomic.Bool
	logf         func(format string, args ...any)
	objects      volume.ObjectSource
	sandboxes    *sandboxLister
	// serviceEnv is the KUBERNETES_SERVICE_* variables every container
	// gets (Config.APIServer).
	serviceEnv []runtime.EnvVar
	// allocatable is Config.Allocatable.
	allocatable v1.ResourceList
}

// worker owns one pod: its goroutine is the only one that touches the
// fields below the mailbox.
type worker struct {
	*deps
	uid types.UID
	// orphan workers clean up runtime objects of pods no source knows;
	// they publish no status.
	orphan bool

	mu    sync.Mutex
	pod   *v1.Pod // latest desired pod (mailbox)
	nudge chan struct{}
	// syncing is the pod the pass in progress works from, interrupt
	// cancels that pass's waits (nil between passes): a deletion, or a
	// shorter grace, does not wait for a hook, a pull or a stop begun
	// before it (the kubelet's pod worker cancels its sync likewise).
	syncing   *v1.Pod
	interrupt context.CancelFunc

	state workerState

	backoff        plan.BackoffState
	startErrors    map[string]plan.StartError
	attempts       map[string]uint32
	lastStatus     *v1.PodStatus
	volumePaths    map[string]string
	sandboxRetryAt time.Time
	// sandboxIDs are the pod's sandboxes, found by a full list (shared
	// by the workers: sandboxLister) made after the worker was created,
	// then one at most fullListEvery old; the worker asks for each known
	// sandbox's status itself (sandboxes of a pod appear only through its
	// worker).
	sandboxIDs map[string]bool
	listedAt   time.Time
	created    time.Time
	// volumesReleased is set once a finished pod's volumes are torn down.
	volumesReleased bool
	// volumesRefreshedAt is when the API-backed volumes were last written;
	// volumesStale (under mu) asks for a rewrite at the next sync: the pod
	// or an object it references changed, or the worker is new (adoption).
	volumesRefreshedAt time.Time
	volumesStale       bool
	// publishedFor is the pod object the last status was published with.
	publishedFor *v1.Pod
	// settled is set by a pass that found nothing to do and the pod
	// settled (settledStatus); syncedAt is when the last pass ran.
	settled  bool
	syncedAt time.Time
	// finished is set once the worker published a terminal phase: the pod
	// no longer counts against the node's resources at admission.
	finished atomic.Bool
}

const (
	fullListEvery = 30 * time.Second
	// volumeRefreshEvery bounds the time between volume rewrites without
	// a known change: tokens due for renewal, dropped object notifications,
	// and reads that keep the objects' watches (objects.IdleWatch) alive.
	volumeRefreshEvery = time.Minute
	// maxImmediateSyncs bounds back-to-back passes after actions.
	maxImmediateSyncs = 10
)

func newWorker(d *deps, pod *v1.Pod, orphan bool) *worker {
	var created time.Time
	if d.now != nil {
		created = d.now()
	}
	return &worker{
		created: created,
		deps:    d, uid: pod.UID, orphan: orphan, pod: pod,
		nudge:        make(chan struct{}, 1),
		backoff:      plan.BackoffState{},
		startErrors:  map[string]plan.StartError{},
		attempts:     map[string]uint32{},
		volumesStale: true,
	}
}

// update hands the worker a newer version of its pod and wakes it; the
// pass in progress is cut short when the new version deletes the pod or
// shortens the grace it is being deleted with.
func (w *worker) update(pod *v1.Pod) {
	w.mu.Lock()
	w.pod = pod
	w.volumesStale = true
	if w.interrupt != nil && interrupts(w.syncing, pod) {
		w.interrupt()
		w.interrupt = nil
	}
	w.mu.Unlock()
	w.wake()
}

// interrupts tells whether next should cut short a pass working from cur:
// it deletes the pod, or deletes it with less grace than cur (the
// kubelet's UpdatePod: becameTerminating || wasGracePeriodShortened).
func interrupts(cur, next *v1.Pod) bool {
	if next.DeletionTimestamp == nil {
		return false
	}
	return cur.DeletionTimestamp == nil || plan.PodGrace(next) < plan.PodGrace(cur)
}

// beginSync returns the pod a pass works from and the context of its
// interruptible waits; endSync ends it.
func (w *worker) beginSync(ctx context.Context) (*v1.Pod, context.Context) {
	ictx, cancel := context.WithCancel(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncing, w.interrupt = w.pod, cancel
	return w.pod, ictx
}

func (w *worker) endSync() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.interrupt != nil {
		w.interrupt()
	}
	w.syncing, w.interrupt = nil, nil
}

// objectChanged wakes the worker to rewrite its volumes from a changed
// object.
func (w *worker) objectChanged() {
	w.mu.Lock()
	w.volumesStale = true
	w.mu.Unlock()
	w.wake()
}

func (w *worker) wake() {
	select {
	case w.nudge <- struct{}{}:
	default:
	}
}

func (w *worker) current() *v1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

// run syncs the pod on every nudge and every resync period until the pod
// has terminated (it returns true) or ctx ends (false; containers stay).
func (w *worker) run(ctx context.Context) bool {
	t := tick.NewTicker(w.resync)
	defer t.Stop()
	w.recoverAttempts(w.current())
	streak := 0
	for {
		again, done := w.sync(ctx)
		if done {
			return true
		}
		// Actions ran: look again at once, but not forever (a runtime that
		// accepts an action without effect must not make this spin).
		if streak++; !again {
			streak = 0
		}
		if again && streak <= maxImmediateSyncs {
			w.wake()
		}
		if !w.waitNext(ctx, t) {
			return false
		}
	}
}

// waitNext waits for the next pass: a nudge, or a tick (of a settled pod,
// only the first tick idleResync after its last pass while the runtime
// reports exits: the exit of one of its containers nudges it). False when
// ctx ended.
func (w *worker) waitNext(ctx context.Context, t *tick.Ticker) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-w.nudge:
			return true
		case <-t.C:
			if !w.settled || !w.exitsWatched.Load() || w.now().Sub(w.syncedAt) >= w.idleResync-w.resync/2 {
				return true
			}
		}
	}
}

// sync is one pass: observe, plan, execute, publish. again asks for an
// immediate next pass (actions ran); done means the pod is gone.
func (w *worker) sync(ctx context.Context) (again, done bool) {
	pod, ictx := w.beginSync(ctx)
	defer w.endSync()
	w.settled, w.syncedAt = false, w.now()
	if pod.DeletionTimestamp != nil {
		if err := w.transition(stateTerminating); err != nil {
			w.logf("%v", err)
		}
	}
	obs, err := w.observe(ctx, pod)
	if err != nil {
		w.logf("pod %s: observing the runtime: %v", podName(pod), err)
		return false, false
	}
	if pod.DeletionTimestamp != nil {
		// Liveness and startup probes stop before the containers are
		// killed (the kubelet's StopLivenessAndStartup); readiness goes on.
		w.syncProbes(ctx, pod, obs)
	}
	now := w.now()
	p := plan.Compute(pod, obs, now, w.backoff)
	w.backoff = w.backoff.Apply(p.Backoff).GC(now)
	for name, e := range p.StartErrors {
		w.startErrors[name] = e
		w.backOffEvent(pod, name, e)
	}
	if p.CreateSandbox && now.Before(w.sandboxRetryAt) {
		return false, false
	}

	if p.Terminated {
		w.kill(ictx, pod, obs, p.Kill, p.KillPod)
		if ictx.Err() != nil {
			// A shorter grace: the next pass kills again with it (unless
			// the agent is stopping: containers stay).
			return ctx.Err() == nil, false
		}
		if !w.orphan {
			// The final status: what the kills left (observed again),
			// as the kubelet's TerminatePod reports it.
			if obs2, err := w.observe(ctx, pod); err == nil {
				obs = obs2
			}
			s := plan.GenerateStatus(pod, obs, w.now())
			plan.TerminalStatus(pod, &s)
			w.publishStatus(pod, s)
		}
		if err := w.teardown(ctx, pod, obs); err != nil {
			w.logf("pod %s: teardown: %v", podName(pod), err)
			return false, false
		}
		if !w.orphan {
			w.status.PodTerminated(pod)
		}
		if f, ok := w.events.(interface{ Forget(types.UID) }); ok {
			f.Forget(pod.UID)
		}
		if err := w.transition(stateTerminated); err != nil {
			w.logf("%v", err)
		}
		return false, true
	}

	w.refreshVolumes(ctx, pod, now)
	if w.lastStatus == nil && !w.orphan {
		// The first status (Pending, ContainerCreating) goes out before
		// the first actions, which may take a while (pulls).
		w.publish(pod, obs)
	}
	acted := !p.Empty()
	if acted {
		if err := w.execute(ctx, ictx, pod, obs, &p); errors.Is(err, errInterrupted) {
			return ctx.Err() == nil, false
		} else if err != nil {
			w.logf("pod %s: %v", podName(pod), err)
			acted = false
		}
		if ctx.Err() != nil {
			return false, false
		}
		if obs2, err := w.observe(ctx, pod); err == nil {
			obs = obs2
		}
	}
	if !w.orphan {
		w.publish(pod, obs)
	}
	w.syncProbes(ctx, pod, obs)
	// A pod with an active deadline to come is looked at every resync.
	w.settled = !acted && len(p.StartErrors) == 0 && pod.DeletionTimestamp == nil && settledStatus(w.lastStatus) &&
		(pod.Spec.ActiveDeadlineSeconds == nil || plan.IsTerminalPhase(w.lastStatus.Phase))
	if !acted && !w.volumesReleased && w.lastStatus != nil && plan.IsTerminalPhase(w.lastStatus.Phase) {
		// A pod that has finished gives its volumes back (tmpfs memory);
		// its exited containers and logs stay until the pod is removed.
		if err := w.volumes.TearDown(ctx, PodDir(w.dataDir, pod)); err != nil {
			w.logf("pod %s: releasing volumes: %v", podName(pod), err)
		} else {
			w.volumesReleased = true
		}
	}
	return acted, false
}

// settledStatus tells a pod that only an exit, a probe result or a change
// of the pod itself can move on: finished, or running with every
// container running (init containers done or, as sidecars, running).
// Anything else (waiting, back-off, a container exited) is watched every
// Resync.
func settledStatus(s *v1.PodStatus) bool {
	if s == nil {
		return false
	}
	if plan.IsTerminalPhase(s.Phase) {
		return true
	}
	if s.Phase != v1.PodRunning {
		return false
	}
	for _, c := range s.InitContainerStatuses {
		if t := c.State.Terminated; c.State.Running == nil && (t == nil || t.ExitCode != 0) {
			return false
		}
	}
	for _, c := range s.ContainerStatuses {
		if c.State.Running == nil {
			return false
		}
	}
	return true
}

// observe gathers the runtime's view of pod plus the worker's memory.
func (w *worker) observe(ctx context.Context, pod *v1.Pod) (*plan.Observed, error) {
	sbs, err := w.podSandboxes(ctx, pod)
	if err != nil {
		return nil, err
	}
	o := &plan.Observed{
		Sandboxes:   sbs,
		StartErrors: w.startErrors,
		Attempts:    w.attempts,
		LastStatus:  w.lastStatus,
		HostIP:      w.hostIP,
	}
	cs, err := w.listContainers(ctx, pod)
	if err != nil {
		return nil, err
	}
	o.Containers = cs
	for _, c := range cs {
		if a, ok := w.attempts[c.Name]; !ok || c.Attempt > a {
			w.attempts[c.Name] = c.Attempt
		}
	}
	if w.prober != nil {
		o.Readiness, o.Startup, o.Liveness, o.StartupFailed = w.prober.Observed(runningIDs(cs))
	}
	return o, nil
}

// runningIDs are the IDs of the running containers of cs.
func runningIDs(cs []*runtime.ContainerStatus) []string {
	var ids []string
	for _, c := range cs {
		if c.State == runtime.ContainerRunning {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// syncProbes hands the prober the pod's containers and network.
func (w *worker) syncProbes(ctx context.Context, pod *v1.Pod, obs *plan.Observed) {
	if w.prober == nil || w.orphan {
		return
	}
	cs := make([]prober.Container, 0, len(obs.Containers))
	for _, c := range obs.Containers {
		cs = append(cs, prober.Container{ID: c.ID, Name: c.Name, Running: c.State == runtime.ContainerRunning, StartedAt: c.StartedAt})
	}
	w.prober.Sync(ctx, pod, cs, probeTarget(obs.Sandboxes))
}

// probeTarget is the network of the pod's newest ready sandbox.
func probeTarget(sbs []*runtime.SandboxStatus) prober.Target {
	var best *runtime.SandboxStatus
	for _, sb := range sbs {
		if sb.State == runtime.SandboxReady && (best == nil || sb.Attempt > best.Attempt) {
			best = sb
		}
	}
	if best == nil {
		return prober.Target{}
	}
	return prober.Target{PodIP: best.IP, NetNS: best.NetNSPath}
}

// backOffEvent reports a start the planner held back.
func (w *worker) backOffEvent(pod *v1.Pod, name string, e plan.StartError) {
	if w.orphan {
		return
	}
	fp := plan.FieldPath(pod, name)
	switch e.Reason {
	case plan.ReasonCrashLoopBackOff:
		w.events.Event(pod, fp, v1.EventTypeWarning, EventBackOff,
			fmt.Sprintf("Back-off restarting failed container %s in pod %s", name, plan.PodDesc(pod)))
	case plan.ReasonImagePullBackOff:
		if c := specOf(pod, name); c != nil {
			w.events.Event(pod, fp, v1.EventTypeNormal, EventBackOff, fmt.Sprintf("Back-off pulling image %q", c.Image))
		}
		w.events.Event(pod, fp, v1.EventTypeWarning, EventFailed, "Error: "+plan.ReasonImagePullBackOff)
	}
}

// recoverAttempts reads the attempts of earlier instances from the log
// file names (<container>/<attempt>.log), as newer kubelets do, so that a
// restart count never goes back (and no log file is reused) even when the
// runtime records of those instances are gone.
func (w *worker) recoverAttempts(pod *v1.Pod) {
	dir := PodDir(w.dataDir, pod)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() || e.Name() == "volumes" {
			continue
		}
		logs, _ := os.ReadDir(filepath.Join(dir, e.Name()))
		for _, l := range logs {
			n, err := strconv.ParseUint(strings.TrimSuffix(l.Name(), ".log"), 10, 32)
			if err != nil || !strings.HasSuffix(l.Name(), ".log") {
				continue
			}
			if a, ok := w.attempts[e.Name()]; !ok || uint32(n) > a {
				w.attempts[e.Name()] = uint32(n)
			}
		}
	}
}

// podSandboxes returns the pod's sandboxes.
func (w *worker) podSandboxes(ctx context.Context, pod *v1.Pod) ([]*runtime.SandboxStatus, error) {
	now := w.now()
	if w.sandboxIDs == nil || now.Sub(w.listedAt) >= fullListEvery {
		notBefore := w.listedAt.Add(fullListEvery)
		if w.sandboxIDs == nil {
			notBefore = w.created
		}
		byUID, at, err := w.sandboxes.list(ctx, notBefore, now)
		if err != nil {
			return nil, err
		}
		// Known ones too: the list may predate a sandbox this worker
		// made since (gone ones are dropped below).
		if w.sandboxIDs == nil {
			w.sandboxIDs = map[string]bool{}
		}
		for _, id := range byUID[string(pod.UID)] {
			w.sandboxIDs[id] = true
		}
		w.listedAt = at
	}
	var out []*runtime.SandboxStatus
	for id := range w.sandboxIDs {
		sb, err := w.rt.PodSandboxStatus(ctx, id)
		if isNotFound(err) {
			delete(w.sandboxIDs, id)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, sb)
	}
	return out, nil
}

// listContainers lists the pod's containers. A container whose process
// just exited is Unknown until conmon records the exit a few milliseconds
// later; the list is retried briefly so that a transient Unknown is not
// taken for a lost container (which would be killed and restarted).
func (w *worker) listContainers(ctx context.Context, pod *v1.Pod) ([]*runtime.ContainerStatus, error) {
	filter := runtime.ContainerFilter{Labels: map[string]string{runtime.LabelPodUID: string(pod.UID)}}
	for i := 0; ; i++ {
		cs, err := w.rt.ListContainers(ctx, filter)
		if err != nil || i == unknownRetries || !anyUnknown(cs) {
			return cs, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(unknownRetryDelay):
		}
	}
}

const (
	unknownRetries    = 20
	unknownRetryDelay = 25 * time.Millisecond
)

func anyUnknown(cs []*runtime.ContainerStatus) bool {
	for _, c := range cs {
		if c.State == runtime.ContainerUnknown {
			return true
		}
	}
	return false
}

func (w *worker) publish(pod *v1.Pod, obs *plan.Observed) {
	w.publishStatus(pod, plan.GenerateStatus(pod, obs, w.now()))
}

// publishStatus hands s to the status sink unless it is what it has.
func (w *worker) publishStatus(pod *v1.Pod, s v1.PodStatus) {
	if s.Reason == plan.ReasonDeadlineExceeded && (w.lastStatus == nil || w.lastStatus.Reason != s.Reason) && !w.orphan {
		w.events.Event(pod, "", v1.EventTypeNormal, plan.ReasonDeadlineExceeded, plan.MessageDeadlineExceeded)
	}
	unchanged := w.lastStatus != nil && w.publishedFor == pod && apiequality.Semantic.DeepEqual(*w.lastStatus, s)
	w.lastStatus = &s
	if plan.IsTerminalPhase(s.Phase) {
		w.finished.Store(true)
	}
	if unchanged {
		return // the sink has it (most syncs of a running pod change nothing)
	}
	w.publishedFor = pod
	w.status.SetPodStatus(pod, s)
}

// teardown removes everything the pod had on the node: runtime objects,
// volumes and the pod directory.
func (w *worker) teardown(ctx context.Context, pod *v1.Pod, obs *plan.Observed) error {
	for _, c := range obs.Containers {
		if err := w.rt.RemoveContainer(ctx, c.ID); err != nil && !isNotFound(err) {
			return fmt.Errorf("removing container %s: %w", c.Name, err)
		}
	}
	for _, sb := range obs.Sandboxes {
		if err := w.rt.RemovePodSandbox(ctx, sb.ID); err != nil && !isNotFound(err) {
			return fmt.Errorf("removing sandbox %s: %w", sb.ID, err)
		}
	}
	return removePodDir(ctx, w.volumes, PodDir(w.dataDir, pod))
}

func podName(pod *v1.Pod) string {
	return fmt.Sprintf("%s/%s (%s)", pod.Namespace, pod.Name, pod.UID)
}
