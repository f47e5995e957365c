// Package status is the agent's API status manager: the single goroutine
// that writes pod statuses through pods/status and sends the final delete
// of a terminated pod (SEMANTICS.md §1, §6).
package status

import (
	"context"
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/peapod/peapod/internal/agent"
	"github.com/peapod/peapod/internal/agent/plan"
)

// entry is what the manager knows of one pod.
type entry struct {
	uid        types.UID
	pod        *v1.Pod // the latest API object seen (from the source or a write)
	status     v1.PodStatus
	dirty      bool
	terminated bool
}

// Manager implements agent.StatusSink for pods of the API. Callers only
// record; Run's goroutine owns every API write. Static pods (no API object)
// are kept in memory only, for /pods.
type Manager struct {
	client kubernetes.Interface
	mem    *agent.MemoryStatus
	logf   func(format string, args ...any)
	resync time.Duration

	in   chan func(map[types.UID]*entry)
	kick chan struct{}
}

var _ agent.StatusSink = (*Manager)(nil)
var _ agent.PodLister = (*Manager)(nil)

// New returns a manager writing through client.
func New(client kubernetes.Interface, logf func(string, ...any)) *Manager {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Manager{
		client: client, mem: agent.NewMemoryStatus(), logf: logf, resync: 10 * time.Second,
		in: make(chan func(map[types.UID]*entry), 1024), kick: make(chan struct{}, 1),
	}
}

// Pods lists the pods the agent runs with their latest status (for /pods).
func (m *Manager) Pods() []v1.Pod { return m.mem.Pods() }

// SetPodStatus records pod's latest status; Run writes it.
func (m *Manager) SetPodStatus(pod *v1.Pod, status v1.PodStatus) {
	m.mem.SetPodStatus(pod, status)
	if plan.IsStaticPod(pod) {
		return
	}
	pod, status = pod.DeepCopy(), *status.DeepCopy()
	m.send(func(es map[types.UID]*entry) {
		e := es[pod.UID]
		if e == nil {
			e = &entry{uid: pod.UID, pod: pod}
			es[pod.UID] = e
		} else if newer(pod.ResourceVersion, e.pod.ResourceVersion) {
			e.pod = pod
		}
		e.status = status
		e.dirty = true
	})
}

// PodUpdated tells Run of the API's current pod, status-only changes
// included: a status written by others (e.g. the node lifecycle
// controller's Ready Unknown, reason NodeLost) that differs from the
// agent's is written over again.
func (m *Manager) PodUpdated(pod *v1.Pod) {
	if plan.IsStaticPod(pod) {
		return
	}
	pod = pod.DeepCopy()
	m.send(func(es map[types.UID]*entry) {
		e := es[pod.UID]
		if e == nil || e.status.Phase == "" || !newer(pod.ResourceVersion, e.pod.ResourceVersion) {
			return // nothing of the agent's to compare with, or a stale copy
		}
		e.pod = pod
		e.dirty = true // write compares and sends only a difference
	})
}

// PodTerminated asks Run to send the final delete of pod (after its last
// status is written).
func (m *Manager) PodTerminated(pod *v1.Pod) {
	m.mem.PodTerminated(pod)
	if plan.IsStaticPod(pod) {
		return
	}
	pod = pod.DeepCopy()
	m.send(func(es map[types.UID]*entry) {
		e := es[pod.UID]
		if e == nil {
			e = &entry{uid: pod.UID, pod: pod}
			es[pod.UID] = e
		}
		e.terminated = true
	})
}

func (m *Manager) send(f func(map[types.UID]*entry)) {
	m.in <- f
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// Run writes statuses until ctx ends.
func (m *Manager) Run(ctx context.Context) {
	entries := map[types.UID]*entry{}
	t := time.NewTicker(m.resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.kick:
		case <-t.C:
		}
	drain:
		for {
			select {
			case f := <-m.in:
				f(entries)
			default:
				break drain
			}
		}
		for uid, e := range entries {
			if ctx.Err() != nil {
				return
			}
			if e.dirty {
				err := m.write(ctx, e)
				if err != nil && !apierrors.IsNotFound(err) && m.gone(ctx, e) {
					// e.g. 403 from the node authorizer for a pod no
					// longer bound here: it was removed meanwhile.
					err = apierrors.NewNotFound(v1.Resource("pods"), e.pod.Name)
				}
				if apierrors.IsNotFound(err) {
					e.dirty = false
					if e.terminated {
						delete(entries, uid)
					}
					continue
				}
				if err != nil {
					m.logf("status of pod %s/%s: %v", e.pod.Namespace, e.pod.Name, err)
					continue // retried at the next resync
				}
				e.dirty = false
			}
			if e.terminated {
				if err := m.finalDelete(ctx, e.pod.Namespace, e.pod.Name, e.uid); err != nil && !m.gone(ctx, e) {
					m.logf("deleting pod %s/%s: %v", e.pod.Namespace, e.pod.Name, err)
					continue
				}
				delete(entries, uid)
			}
		}
	}
}

// write updates pods/status with e.status merged into the API pod, reading
// the pod again on a conflict.
func (m *Manager) write(ctx context.Context, e *entry) error {
	pods := m.client.CoreV1().Pods(e.pod.Namespace)
	for attempt := 0; ; attempt++ {
		if e.pod.ResourceVersion == "" {
			cur, err := pods.Get(ctx, e.pod.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			e.pod = cur
		}
		if e.pod.UID != "" && e.pod.UID != uidOf(e) {
			return apierrors.NewNotFound(v1.Resource("pods"), e.pod.Name) // replaced by a pod of the same name
		}
		next := Merge(e.pod.Status, e.status)
		if apiequality.Semantic.DeepEqual(next, e.pod.Status) {
			return nil
		}
		upd := e.pod.DeepCopy()
		upd.Status = next
		got, err := pods.UpdateStatus(ctx, upd, metav1.UpdateOptions{FieldManager: "peapod-agent"})
		if err == nil {
			e.pod = got
			return nil
		}
		if !apierrors.IsConflict(err) || attempt >= 4 {
			return err
		}
		uid := uidOf(e)
		e.pod = &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: e.pod.Name, Namespace: e.pod.Namespace, UID: uid}}
		cur, gerr := pods.Get(ctx, e.pod.Name, metav1.GetOptions{})
		if gerr != nil {
			return gerr
		}
		if cur.UID != uid {
			return apierrors.NewNotFound(v1.Resource("pods"), e.pod.Name)
		}
		e.pod = cur
	}
}

// gone reports whether e's pod no longer exists in the API (not found, or
// replaced by another pod of the same name).
func (m *Manager) gone(ctx context.Context, e *entry) bool {
	cur, err := m.client.CoreV1().Pods(e.pod.Namespace).Get(ctx, e.pod.Name, metav1.GetOptions{})
	return apierrors.IsNotFound(err) || (err == nil && cur.UID != e.uid)
}

// uidOf is the UID of the pod the entry was created for.
func uidOf(e *entry) types.UID { return e.uid }

// finalDelete removes a terminated pod: grace 0, UID precondition. A pod
// already gone, or replaced by another of the same name, is done.
func (m *Manager) finalDelete(ctx context.Context, namespace, name string, uid types.UID) error {
	zero := int64(0)
	err := m.client.CoreV1().Pods(namespace).Delete(ctx, name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero,
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// Merge is the status to write: next's fields, conditions the agent does
// not own as cur has them (in cur's order first; next's copies of those are
// dropped, as the kubelet's mergePodStatus drops them, so that a readiness
// gate a controller changed is not written back), and a terminal phase in
// cur never undone.
func Merge(cur, next v1.PodStatus) v1.PodStatus {
	out := *next.DeepCopy()
	var conds []v1.PodCondition
	for _, c := range cur.Conditions {
		if !plan.OwnsCondition(c.Type) {
			conds = append(conds, c)
		}
	}
	for _, c := range next.Conditions {
		if !plan.OwnsCondition(c.Type) {
			continue
		}
		// Keep the transition time of a condition whose status is unchanged.
		for _, p := range cur.Conditions {
			if p.Type == c.Type && p.Status == c.Status && !p.LastTransitionTime.IsZero() {
				c.LastTransitionTime = p.LastTransitionTime
			}
		}
		conds = append(conds, c)
	}
	out.Conditions = conds
	if terminal(cur.Phase) && !terminal(out.Phase) {
		out.Phase = cur.Phase
	}
	if out.StartTime == nil && cur.StartTime != nil {
		out.StartTime = cur.StartTime
	}
	return out
}

// newer reports whether resource version a is after b. Versions are
// opaque to clients, but peapod's (etcd revisions) are numbers; anything
// else counts as newer, and a conflict on write reads the pod again.
func newer(a, b string) bool {
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	if errA != nil || errB != nil {
		return a != ""
	}
	return x > y
}

func terminal(p v1.PodPhase) bool { return p == v1.PodSucceeded || p == v1.PodFailed }
