package agent

import (
	"cmp"
	"context"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/peapod/peapod/internal/agent/admit"
	"github.com/peapod/peapod/internal/agent/plan"
	"github.com/peapod/peapod/internal/runtime"
)

// NodeSource gives admission the node: the latest copy the agent knows,
// or (fresh) one read from the API server now. The kubelet reads the node
// again when only the node affinity failed, so that a label just added
// (kubectl label node) is seen.
type NodeSource func(ctx context.Context, fresh bool) (admit.Node, error)

// withAppArmor adds the host's AppArmor support to the nodes src gives.
func withAppArmor(src NodeSource, enabled bool) NodeSource {
	if src == nil {
		return nil
	}
	return func(ctx context.Context, fresh bool) (admit.Node, error) {
		n, err := src(ctx, fresh)
		n.AppArmor = enabled
		return n, err
	}
}

// StaticNode is a NodeSource that always returns n (an agent without an
// API server).
func StaticNode(n admit.Node) NodeSource {
	return func(context.Context, bool) (admit.Node, error) { return n, nil }
}

// freshNodeTimeout bounds the synchronous node read of an admission.
const freshNodeTimeout = 5 * time.Second

// admissionState is the Manager's memory of its admission decisions (owned by
// Run's goroutine, like the worker map).
type admissionState struct {
	node NodeSource // nil: every pod is admitted
	// admitted are the pods allowed to run, decided once per UID.
	admitted map[types.UID]bool
	// inert are pods the agent never runs: rejected ones, and pods the API
	// already shows finished that left nothing in the runtime.
	inert map[types.UID]*inertPod
	// preexisting are the pods with runtime objects when the agent
	// started: admitted before, they are not checked again.
	preexisting map[types.UID]bool
}

// inertPod is a pod the agent does not run; terminated is set once its
// final delete was asked for.
type inertPod struct {
	pod        *v1.Pod
	terminated bool
}

// terminateInert asks the status sink, once, for the final delete of a pod
// that never ran (nothing to stop or tear down).
func (m *Manager) terminateInert(ip *inertPod) {
	if !ip.terminated {
		ip.terminated = true
		m.d.status.PodTerminated(ip.pod)
	}
}

// admitNew decides on the desired pods that have no worker and no
// decision yet, oldest first (the kubelet sorts new pods by creation
// time), each against the pods admitted before it. Rejected pods get the
// Failed status and a Warning event with the kubelet's reason.
func (m *Manager) admitNew(ctx context.Context) {
	if m.adm.admitted == nil {
		m.adm.admitted, m.adm.inert = map[types.UID]bool{}, map[types.UID]*inertPod{}
	}
	var todo []*v1.Pod
	for uid, p := range m.desired {
		if m.adm.admitted[uid] {
			continue
		}
		if ip, seen := m.adm.inert[uid]; seen {
			ip.pod = p
			if p.DeletionTimestamp != nil {
				// Nothing runs: the deletion can complete at once.
				m.terminateInert(ip)
			}
			continue
		}
		if _, ok := m.workers[uid]; ok || m.adm.preexisting[uid] || m.adm.node == nil {
			m.adm.admitted[uid] = true
			continue
		}
		if p.DeletionTimestamp != nil {
			continue // reconcile leaves it alone; nothing to admit
		}
		if plan.IsTerminalPhase(p.Status.Phase) {
			// Finished before (or rejected by) an earlier agent, and nothing
			// of it is left to look after.
			m.adm.inert[uid] = &inertPod{pod: p}
			continue
		}
		todo = append(todo, p)
	}
	if len(todo) == 0 {
		return
	}
	slices.SortFunc(todo, func(a, b *v1.Pod) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name), cmp.Compare(a.UID, b.UID))
	})
	node, err := m.adm.node(ctx, false)
	if err != nil {
		m.d.logf("admission: reading the node: %v (retrying)", err)
		return
	}
	active := m.activePods()
	for _, p := range todo {
		v := admit.Pod(node, active, p)
		if !v.Admit && v.Reason == admit.ReasonNodeAffinity {
			fctx, cancel := context.WithTimeout(ctx, freshNodeTimeout)
			if fresh, err := m.adm.node(fctx, true); err == nil {
				node = fresh
				v = admit.Pod(node, active, p)
			}
			cancel()
		}
		if v.Admit {
			m.adm.admitted[p.UID] = true
			active = append(active, p)
			continue
		}
		m.reject(p, v)
	}
}

// reject records a pod that cannot run here: Failed with the verdict's
// reason and a Warning event, as the kubelet's rejectPod.
func (m *Manager) reject(p *v1.Pod, v admit.Verdict) {
	m.adm.inert[p.UID] = &inertPod{pod: p}
	m.d.logf("admission: pod %s rejected: %s: %s", podName(p), v.Reason, v.Message)
	m.d.events.Event(p, "", v1.EventTypeWarning, v.Reason, v.Message)
	m.d.status.SetPodStatus(p, v1.PodStatus{
		Phase:    v1.PodFailed,
		Reason:   v.Reason,
		Message:  admit.RejectedPrefix + v.Message,
		QOSClass: p.Status.QOSClass,
	})
}

// activePods are the admitted pods still holding resources: those of the
// (non-orphan) workers that have not finished, terminating ones included,
// and admitted pods waiting for their worker.
func (m *Manager) activePods() []*v1.Pod {
	var out []*v1.Pod
	for uid := range m.adm.admitted {
		if w, ok := m.workers[uid]; ok {
			if !w.orphan && !w.finished.Load() {
				out = append(out, w.current())
			}
		} else if p, ok := m.desired[uid]; ok && !plan.IsTerminalPhase(p.Status.Phase) {
			out = append(out, p)
		}
	}
	return out
}

// forgetAdmission drops the decisions on pods that left the source and
// have no worker.
func (m *Manager) forgetAdmission() {
	for uid := range m.adm.admitted {
		if _, ok := m.desired[uid]; !ok && m.workers[uid] == nil {
			delete(m.adm.admitted, uid)
		}
	}
	for uid, ip := range m.adm.inert {
		if _, ok := m.desired[uid]; !ok {
			// Gone from its source (a removed manifest): forget its status.
			m.terminateInert(ip)
			delete(m.adm.inert, uid)
		}
	}
}

// notePreexisting remembers the pods the runtime has objects of when the
// agent starts: they were admitted by an earlier agent.
func (m *Manager) notePreexisting(ctx context.Context) {
	m.adm.preexisting = map[types.UID]bool{}
	if sbs, err := m.d.rt.ListPodSandboxes(ctx); err == nil {
		for _, sb := range sbs {
			m.adm.preexisting[types.UID(sb.UID)] = true
		}
	}
	if cs, err := m.d.rt.ListContainers(ctx, runtime.ContainerFilter{}); err == nil {
		for _, c := range cs {
			if uid := c.Labels[runtime.LabelPodUID]; uid != "" {
				m.adm.preexisting[types.UID(uid)] = true
			}
		}
	}
}
