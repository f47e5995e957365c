// Package apisource is the agent's pod source for the API: the pods bound
// to its node (fieldSelector spec.nodeName=<node>) through a client-go
// informer, sent as full sets. Merge fans several sources into one.
package apisource

import (
	"context"
	"sort"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Source watches the pods of one node.
type Source struct {
	Client   kubernetes.Interface
	NodeName string
	Logf     func(format string, args ...any)
	// OnUpdate, when set, hears every added or updated pod, including
	// the status-only changes the set sent to the agent leaves out (the
	// status manager learns of statuses written by others).
	OnUpdate func(*v1.Pod)

	mu    sync.Mutex
	tombs map[types.UID]tomb
}

// tomb is a pod removed from the API without going through a graceful
// deletion (kubectl delete --force --grace-period=0): it stays in the set
// for a while marked deleted with grace 0, so that its worker kills it
// promptly (the agent's floors apply) rather than with the spec's grace.
type tomb struct {
	pod *v1.Pod
	at  time.Time
}

// tombTTL is how long a force-deleted pod stays in the set.
const tombTTL = time.Minute

func (s *Source) deleted(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	p, ok := obj.(*v1.Pod)
	if !ok || p.DeletionTimestamp != nil {
		return // a graceful deletion: the worker already knows its grace
	}
	p = p.DeepCopy()
	now := metav1.Now()
	zero := int64(0)
	p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &now, &zero
	p.ResourceVersion = "" // not the version last sent: compared in full
	s.mu.Lock()
	if s.tombs == nil {
		s.tombs = map[types.UID]tomb{}
	}
	s.tombs[p.UID] = tomb{pod: p, at: now.Time}
	s.mu.Unlock()
}

func (s *Source) updated(obj any) {
	if p, ok := obj.(*v1.Pod); ok && s.OnUpdate != nil {
		s.OnUpdate(p)
	}
}

// withTombs adds the recent tombstones to pods and forgets old ones.
func (s *Source) withTombs(pods []*v1.Pod, now time.Time) []*v1.Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	for uid, t := range s.tombs {
		if now.Sub(t.at) > tombTTL {
			delete(s.tombs, uid)
			continue
		}
		pods = append(pods, t.pod.DeepCopy())
	}
	return pods
}

// Run sends the full set of the node's pods once the informer has synced
// and after every change, until ctx ends.
func (s *Source) Run(ctx context.Context, out chan<- []*v1.Pod) {
	lw := cache.NewListWatchFromClient(s.Client.CoreV1().RESTClient(), "pods", v1.NamespaceAll,
		fields.OneTermEqualSelector("spec.nodeName", s.NodeName))
	changed := make(chan struct{}, 1)
	poke := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	inf := cache.NewSharedIndexInformer(lw, &v1.Pod{}, 0, cache.Indexers{})
	// The agent never reads managedFields, the bulk of a small pod's
	// metadata: the cache does not keep them (status writes without them
	// leave the server's untouched).
	inf.SetTransform(dropManagedFields)
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.updated(obj); poke() },
		UpdateFunc: func(_, obj any) { s.updated(obj); poke() },
		DeleteFunc: func(obj any) { s.deleted(obj); poke() },
	})
	go inf.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return
	}
	var sent map[types.UID]*v1.Pod
	for {
		pods := s.withTombs(snapshot(inf.GetStore()), time.Now())
		if next, changed := Changed(sent, pods); changed {
			select {
			case out <- deepCopies(pods):
				sent = next
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}

// Changed reports whether pods differ from the set last sent other than
// in their status (which the agent itself writes: each status write would
// otherwise send the whole set again and wake every pod's worker), and
// returns the new set to remember. A pod whose resource version is the one
// remembered is the same object and is not compared again (a burst of N
// status writes would otherwise cost N² comparisons); tombstones carry no
// resource version and are always compared.
func Changed(last map[types.UID]*v1.Pod, pods []*v1.Pod) (map[types.UID]*v1.Pod, bool) {
	next := make(map[types.UID]*v1.Pod, len(pods))
	changed := last == nil || len(last) != len(pods)
	for _, p := range pods {
		prev, ok := last[p.UID]
		if ok && p.ResourceVersion != "" && prev.ResourceVersion == p.ResourceVersion {
			next[p.UID] = prev
			continue
		}
		q := &v1.Pod{ObjectMeta: *p.ObjectMeta.DeepCopy(), Spec: *p.Spec.DeepCopy()}
		q.ManagedFields = nil
		next[p.UID] = q
		if !changed {
			changed = !ok || !sameButVersion(prev, q)
		}
	}
	return next, changed
}

// sameButVersion compares the metadata (but the resource version) and the
// spec of two stripped pods.
func sameButVersion(a, b *v1.Pod) bool {
	am, bm := a.ObjectMeta, b.ObjectMeta
	am.ResourceVersion, bm.ResourceVersion = "", ""
	return apiequality.Semantic.DeepEqual(am, bm) && apiequality.Semantic.DeepEqual(a.Spec, b.Spec)
}

// snapshot lists the store's pods sorted by UID, not copied.
func snapshot(store cache.Store) []*v1.Pod {
	items := store.List()
	pods := make([]*v1.Pod, 0, len(items))
	for _, it := range items {
		if p, ok := it.(*v1.Pod); ok {
			pods = append(pods, p)
		}
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].UID < pods[j].UID })
	return pods
}

// deepCopies copies pods for the consumer (the store's objects are
// shared with the informer).
func deepCopies(pods []*v1.Pod) []*v1.Pod {
	out := make([]*v1.Pod, len(pods))
	for i, p := range pods {
		out[i] = p.DeepCopy()
	}
	return out
}

// RunFunc is a pod source: it sends full sets on out until ctx ends.
type RunFunc func(ctx context.Context, out chan<- []*v1.Pod)

// Merge runs every source and sends the union of their latest sets on out:
// nothing until each source has sent its first set (so the agent's
// housekeeping never sees a partial set and removes running pods), then
// the union after every change.
func Merge(ctx context.Context, out chan<- []*v1.Pod, sources ...RunFunc) {
	type update struct {
		i    int
		pods []*v1.Pod
	}
	in := make(chan update)
	for i, run := range sources {
		ch := make(chan []*v1.Pod)
		go run(ctx, ch)
		go func() {
			for {
				select {
				case p := <-ch:
					select {
					case in <- update{i, p}:
					case <-ctx.Done():
						return
					}
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	latest := make([][]*v1.Pod, len(sources))
	seen := make([]bool, len(sources))
	for {
		select {
		case u := <-in:
			latest[u.i], seen[u.i] = u.pods, true
		case <-ctx.Done():
			return
		}
		// Coalesce what is already queued.
		for drained := false; !drained; {
			select {
			case u := <-in:
				latest[u.i], seen[u.i] = u.pods, true
			case <-time.After(time.Millisecond):
				drained = true
			}
		}
		ready := true
		for _, s := range seen {
			ready = ready && s
		}
		if !ready {
			continue
		}
		var all []*v1.Pod
		for _, l := range latest {
			all = append(all, l...)
		}
		select {
		case out <- all:
		case <-ctx.Done():
			return
		}
	}
}

// dropManagedFields is the informer's transform: pods without their
// managedFields.
func dropManagedFields(obj any) (any, error) {
	if p, ok := obj.(*v1.Pod); ok {
		p.ManagedFields = nil
	}
	return obj, nil
}
