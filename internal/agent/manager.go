package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/peapod/peapod/internal/agent/hooks"
	"github.com/peapod/peapod/internal/agent/prober"
	"github.com/peapod/peapod/internal/agent/volume"
	"github.com/peapod/peapod/internal/runtime"
)

// Config wires a Manager. Runtime, Volumes, Status and DataDir are required.
type Config struct {
	Runtime Runtime
	Volumes *volume.Manager
	Status  StatusSink
	// Hooks default to package hooks on the runtime's ExecSync (none
	// when the runtime cannot exec).
	Hooks Hooks
	// Prober defaults to a prober.Manager on the runtime's ExecSync (no
	// probes when the runtime cannot exec).
	Prober   *prober.Manager
	Events   Recorder // default: a LogRecorder on Logf
	DataDir  string
	NodeName string
	HostIP   string
	// ClusterDomain for pods with a subdomain; default cluster.local.
	ClusterDomain string
	// HostResolvConf is the node's /etc/resolv.conf content.
	HostResolvConf []byte
	// Resync is each worker's periodic sync; default 1 s.
	Resync time.Duration
	// IdleResync is the periodic sync of a settled pod (every container
	// running, or the pod finished) when the runtime reports exits
	// (ExitWatcher); default 10 s. Exits, pod changes and probe results
	// wake a worker at once either way.
	IdleResync time.Duration
	// Housekeeping is how often orphaned pods are cleaned up; default 10 s.
	Housekeeping time.Duration
	Now          func() time.Time
	Logf         func(format string, args ...any)
	// Objects gives pods their Secrets, ConfigMaps and service account
	// tokens (nil: none, as for static pods without an API server).
	Objects volume.ObjectSource
	// APIServer is host:port (net.JoinHostPort's form) at which pods
	// reach the API server: every container gets the kubelet's KUBERNETES_SERVICE_HOST,
	// KUBERNETES_SERVICE_PORT and KUBERNETES_PORT* variables for it,
	// enableServiceLinks or not. Empty: none (an agent without an API
	// server).
	APIServer string
	// Allocatable is the node's allocatable resources, which a
	// resourceFieldRef env reads for an unset limit (nil: the host's CPUs
	// and memory, volume.NodeAllocatable). Give the volume manager the
	// same (WithAllocatable).
	Allocatable v1.ResourceList
	// Node is the node that pods are admitted to (resources, pods count,
	// node affinity, host ports, NoExecute taints; package admit). Nil
	// admits every pod.
	Node NodeSource
	// HostAppArmor reports that the host enforces AppArmor (admission
	// refuses pods that ask for a profile: package admit).
	HostAppArmor bool
}

// Manager runs one worker per pod of its source. Run's goroutine owns the
// worker map.
type Manager struct {
	d            *deps
	housekeeping time.Duration

	desired map[types.UID]*v1.Pod
	workers map[types.UID]*worker
	done    chan types.UID
	synced  bool
	wg      sync.WaitGroup
	// objectChanges are Secrets/ConfigMaps that changed (see objects.go).
	objectChanges chan volume.ObjectRef
	adm           admissionState
	// finished are desired pods being deleted whose worker is done: no
	// worker is started for them again (a force-deleted pod stays in the
	// set for a while).
	finished map[types.UID]bool
}

// NewManager checks cfg and returns a manager.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Runtime == nil || cfg.Volumes == nil || cfg.Status == nil || cfg.DataDir == "" {
		return nil, fmt.Errorf("agent: runtime, volumes, status and data dir are required")
	}
	d := &deps{
		rt: cfg.Runtime, volumes: cfg.Volumes, status: cfg.Status, hooks: cfg.Hooks, events: cfg.Events,
		prober: cfg.Prober, dataDir: cfg.DataDir, nodeName: cfg.NodeName, hostIP: cfg.HostIP,
		clusterDomain: cfg.ClusterDomain, hostResolvConf: cfg.HostResolvConf,
		now: cfg.Now, resync: cfg.Resync, idleResync: cfg.IdleResync, logf: cfg.Logf,
		allocatable: cfg.Allocatable,
	}
	svc, err := kubernetesServiceEnv(cfg.APIServer)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	d.serviceEnv = svc
	if d.logf == nil {
		d.logf = func(string, ...any) {}
	}
	if d.events == nil {
		d.events = &LogRecorder{Logf: d.logf}
	}
	ex, canExec := cfg.Runtime.(prober.Execer)
	if d.hooks == nil {
		d.hooks = noHooks{}
		if canExec {
			d.hooks = &hooks.Runner{Exec: ex, Events: d.events, Logf: d.logf}
		}
	}
	if d.prober == nil && canExec {
		d.prober = prober.NewManager(prober.Config{Exec: ex, Results: prober.NewResults(), Events: d.events, Now: cfg.Now})
	}
	if d.clusterDomain == "" {
		d.clusterDomain = "cluster.local"
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.resync <= 0 {
		d.resync = time.Second
	}
	if d.idleResync <= 0 {
		d.idleResync = 10 * time.Second
	}
	d.sandboxes = &sandboxLister{rt: cfg.Runtime}
	hk := cfg.Housekeeping
	if hk <= 0 {
		hk = 10 * time.Second
	}
	m := &Manager{
		d: d, housekeeping: hk,
		desired: map[types.UID]*v1.Pod{},
		workers: map[types.UID]*worker{},
		done:    make(chan types.UID),
		adm:     admissionState{node: withAppArmor(cfg.Node, cfg.HostAppArmor), admitted: map[types.UID]bool{}, inert: map[types.UID]*inertPod{}},
	}
	m.useObjects(cfg.Objects)
	return m, nil
}

// Run consumes full pod sets from updates until ctx ends, then waits for
// the workers to stop (containers keep running).
func (m *Manager) Run(ctx context.Context, updates <-chan []*v1.Pod) {
	t := time.NewTicker(m.housekeeping)
	defer t.Stop()
	defer m.wg.Wait()
	var probeUpdates <-chan prober.Update
	if m.d.prober != nil {
		probeUpdates = m.d.prober.Results().Updates()
		defer m.d.prober.Wait()
	}
	exits := m.watchExits(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-exits:
			if !ok {
				// The watch ended: settled pods go back to the short resync.
				exits = nil
				m.d.exitsWatched.Store(false)
				continue
			}
			m.exited(e)
		case u := <-probeUpdates:
			// A changed probe result: the pod's worker syncs at once.
			if w, ok := m.workers[u.PodUID]; ok {
				w.wake()
			}
		case pods := <-updates:
			if !m.synced {
				m.notePreexisting(ctx)
			}
			m.setDesired(ctx, pods)
			if !m.synced {
				m.synced = true
				m.cleanup(ctx)
			}
		case uid := <-m.done:
			delete(m.workers, uid)
			if p, ok := m.desired[uid]; ok && p.DeletionTimestamp != nil {
				if m.finished == nil {
					m.finished = map[types.UID]bool{}
				}
				m.finished[uid] = true
			}
			if m.d.prober != nil {
				m.d.prober.RemovePod(uid)
			}
			m.forgetAdmission()
			m.reconcile(ctx)
		case <-t.C:
			if m.synced {
				m.cleanup(ctx)
			}
		case ref := <-m.objectChanges:
			m.wakeReferencing(ref)
		}
	}
}

// watchExits starts the runtime's exit events, if it has them; nil
// otherwise (every pod then resyncs every Resync).
func (m *Manager) watchExits(ctx context.Context) <-chan runtime.Exit {
	ew, ok := m.d.rt.(ExitWatcher)
	if !ok {
		return nil
	}
	ch, err := ew.WatchExits(ctx)
	if err != nil {
		m.d.logf("agent: no exit events from the runtime (pods resync every %v): %v", m.d.resync, err)
		return nil
	}
	m.d.exitsWatched.Store(true)
	return ch
}

// exited wakes the worker of the pod whose container or sandbox exited,
// or every worker when events were lost.
func (m *Manager) exited(e runtime.Exit) {
	if e.ID == "" {
		for _, w := range m.workers {
			w.wake()
		}
		return
	}
	if w, ok := m.workers[types.UID(e.PodUID)]; ok {
		w.wake()
	}
}

// setDesired hands each pod to its worker and terminates the workers of
// pods that left the source.
func (m *Manager) setDesired(ctx context.Context, pods []*v1.Pod) {
	next := make(map[types.UID]*v1.Pod, len(pods))
	for _, p := range pods {
		next[p.UID] = p
	}
	for uid, p := range next {
		// Only a worker whose pod changed is woken: a burst of N pods
		// would otherwise cost N² passes. Once the pod is being deleted,
		// only a shorter grace is news.
		if w, ok := m.workers[uid]; ok {
			if cur := w.current(); (cur.DeletionTimestamp == nil || interrupts(cur, p)) && (!samePod(cur, p) || gatesChanged(cur, p)) {
				w.update(p)
			}
		}
	}
	for uid, w := range m.workers {
		if _, ok := next[uid]; ok {
			continue
		}
		if cur := w.current(); cur.DeletionTimestamp == nil {
			w.update(markDeleted(cur, m.d.now()))
		}
	}
	m.desired = next
	for uid := range m.finished {
		if _, ok := next[uid]; !ok {
			delete(m.finished, uid)
		}
	}
	m.admitNew(ctx)
	m.forgetAdmission()
	m.reconcile(ctx)
}

// gatesChanged reports whether the condition of one of b's readiness gates
// (set by a controller, not the agent) differs between a and b: the pod's
// Ready condition depends on it (the kubelet's NeedToReconcilePodReadiness).
func gatesChanged(a, b *v1.Pod) bool {
	status := func(p *v1.Pod, t v1.PodConditionType) v1.ConditionStatus {
		for _, c := range p.Status.Conditions {
			if c.Type == t {
				return c.Status
			}
		}
		return ""
	}
	for _, g := range b.Spec.ReadinessGates {
		if status(a, g.ConditionType) != status(b, g.ConditionType) {
			return true
		}
	}
	return false
}

// samePod reports whether a and b differ in nothing a worker acts on: the
// spec and the metadata other than the resource version and managed fields
// (a status the agent itself wrote changes only those).
func samePod(a, b *v1.Pod) bool {
	if !apiequality.Semantic.DeepEqual(a.Spec, b.Spec) {
		return false
	}
	am, bm := a.ObjectMeta, b.ObjectMeta
	am.ResourceVersion, bm.ResourceVersion = "", ""
	am.ManagedFields, bm.ManagedFields = nil, nil
	return apiequality.Semantic.DeepEqual(am, bm)
}

// reconcile starts a worker for every admitted desired pod that has none,
// and for every pod being deleted that has none (it may have left
// containers behind, e.g. deleted while the agent was down, and its final
// delete is the agent's), unless another pod of the same namespace/name is still terminating (a changed
// static pod manifest: the old pod goes first, as in the kubelet).
func (m *Manager) reconcile(ctx context.Context) {
	for uid, p := range m.desired {
		if _, ok := m.workers[uid]; ok || m.finished[uid] {
			continue
		}
		if deleted := p.DeletionTimestamp != nil; (!deleted && !m.adm.admitted[uid]) || (deleted && m.adm.inert[uid] != nil) {
			continue // not admitted; or never run, completed by admitNew
		}
		busy := false
		for _, w := range m.workers {
			if cur := w.current(); !w.orphan && cur.Namespace == p.Namespace && cur.Name == p.Name {
				busy = true
			}
		}
		if !busy {
			m.startWorker(ctx, p, false)
		}
	}
}

// markDeleted is pod with a deletion timestamp and its own grace, as the
// API server would set them.
func markDeleted(pod *v1.Pod, now time.Time) *v1.Pod {
	p := pod.DeepCopy()
	ts := metav1.NewTime(now)
	p.DeletionTimestamp = &ts
	if p.DeletionGracePeriodSeconds == nil {
		g := int64(30)
		if p.Spec.TerminationGracePeriodSeconds != nil {
			g = *p.Spec.TerminationGracePeriodSeconds
		}
		p.DeletionGracePeriodSeconds = &g
	}
	return p
}

func (m *Manager) startWorker(ctx context.Context, pod *v1.Pod, orphan bool) {
	w := newWorker(m.d, pod, orphan)
	m.workers[pod.UID] = w
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if w.run(ctx) {
			select {
			case m.done <- w.uid:
			case <-ctx.Done():
			}
		}
	}()
}

// cleanup starts terminating workers for runtime sandboxes of unknown
// pods and removes pod directories no worker owns.
func (m *Manager) cleanup(ctx context.Context) {
	sbs, err := m.d.rt.ListPodSandboxes(ctx)
	if err != nil {
		m.d.logf("housekeeping: listing sandboxes: %v", err)
		return
	}
	orphans := map[types.UID]metav1.ObjectMeta{}
	for _, sb := range sbs {
		orphans[types.UID(sb.UID)] = metav1.ObjectMeta{Name: sb.Name, Namespace: sb.Namespace, UID: types.UID(sb.UID)}
	}
	// Containers whose sandbox is already gone (an agent killed halfway
	// through a teardown) are found by their pod label.
	if cs, err := m.d.rt.ListContainers(ctx, runtime.ContainerFilter{}); err == nil {
		for _, c := range cs {
			uid := types.UID(c.Labels[runtime.LabelPodUID])
			if _, ok := orphans[uid]; !ok && uid != "" {
				orphans[uid] = metav1.ObjectMeta{Name: c.Labels[runtime.LabelPodName], Namespace: c.Labels[runtime.LabelPodNamespace], UID: uid}
			}
		}
	}
	for uid, meta := range orphans {
		if _, ok := m.workers[uid]; ok || uid == "" {
			continue
		}
		pod := &v1.Pod{ObjectMeta: meta}
		grace := int64(2)
		pod.DeletionGracePeriodSeconds = &grace
		m.d.logf("housekeeping: removing the runtime objects of unknown pod %s", podName(pod))
		m.startWorker(ctx, markDeleted(pod, m.d.now()), true)
	}
	dirs, err := os.ReadDir(filepath.Join(m.d.dataDir, "pods"))
	if err != nil {
		return
	}
	for _, e := range dirs {
		i := strings.LastIndex(e.Name(), "_")
		if i < 0 {
			continue
		}
		uid := types.UID(e.Name()[i+1:])
		if _, ok := m.workers[uid]; ok {
			continue
		}
		dir := filepath.Join(m.d.dataDir, "pods", e.Name())
		if err := removePodDir(ctx, m.d.volumes, dir); err != nil {
			m.d.logf("housekeeping: %v", err)
		}
	}
}
