package scheduler

import (
	"math/rand/v2"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/peapod/peapod/internal/scheduler/fit"
)

// nodeCache is the scheduler's view of the cluster: every node, and every pod
// assigned to one, bound (seen by the informer) or assumed (bound by us,
// not seen yet), so a burst of pods does not overcommit a node before the
// informer catches up. The informer handlers, the scheduling goroutine and
// the binders share it; one mutex guards all of it and no method calls
// out while holding it.
type nodeCache struct {
	mu    sync.Mutex
	nodes map[string]*fit.Node // includes placeholders for pods on unknown nodes
	order []*fit.Node          // the nodes that exist, in the order filters visit them
	index map[string]int       // position in order by name
	pods  map[types.UID]*cachedPod
	next  int // where the next pod's filtering starts (round robin)
}

type cachedPod struct {
	pod     *fit.Pod
	node    string
	assumed bool
}

func newNodeCache() *nodeCache {
	return &nodeCache{nodes: map[string]*fit.Node{}, index: map[string]int{}, pods: map[types.UID]*cachedPod{}}
}

// setNode adds or updates a node.
func (c *nodeCache) setNode(n *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ni, ok := c.nodes[n.Name]
	if ok {
		ni.SetNode(n)
	} else {
		ni = fit.NewNode(n)
		c.nodes[n.Name] = ni
	}
	if _, ok := c.index[n.Name]; !ok {
		c.index[n.Name] = len(c.order)
		c.order = append(c.order, ni)
	}
}

// deleteNode forgets a node (its pods stay accounted in a placeholder in
// case it comes back, until they go).
func (c *nodeCache) deleteNode(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[name]
	if !ok {
		return
	}
	last := len(c.order) - 1
	c.order[i] = c.order[last]
	c.index[c.order[i].Name()] = i
	c.order[last] = nil
	c.order = c.order[:last]
	delete(c.index, name)
	if ni := c.nodes[name]; ni != nil && ni.Pods == 0 {
		delete(c.nodes, name)
	}
}

// nodeLocked returns the accounting of a node name, creating a placeholder.
func (c *nodeCache) nodeLocked(name string) *fit.Node {
	ni, ok := c.nodes[name]
	if !ok {
		ni = fit.NewNode(&corev1.Node{})
		ni.Node.Name = name
		c.nodes[name] = ni
	}
	return ni
}

// setPod records a pod the informer reports with spec.nodeName set; a
// terminal pod no longer uses its node and is removed. It replaces the
// assumed copy, if any.
func (c *nodeCache) setPod(p *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(p.UID)
	if terminal(p) || p.Spec.NodeName == "" {
		return
	}
	fp := fit.NewPod(p)
	c.nodeLocked(p.Spec.NodeName).AddPod(fp)
	c.pods[p.UID] = &cachedPod{pod: fp, node: p.Spec.NodeName}
}

// removePod forgets a pod.
func (c *nodeCache) removePod(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(uid)
}

func (c *nodeCache) removeLocked(uid types.UID) {
	cp, ok := c.pods[uid]
	if !ok {
		return
	}
	delete(c.pods, uid)
	ni := c.nodes[cp.node]
	if ni == nil {
		return
	}
	ni.RemovePod(cp.pod)
	if _, exists := c.index[cp.node]; !exists && ni.Pods == 0 {
		delete(c.nodes, cp.node)
	}
}

// forget drops an assumed pod whose binding failed; a pod the informer
// has confirmed in the meantime stays.
func (c *nodeCache) forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cp, ok := c.pods[uid]; ok && cp.assumed {
		c.removeLocked(uid)
	}
}

// isAssigned reports whether a pod is on a node in the cache: assumed
// (being bound by us) or bound.
func (c *nodeCache) isAssigned(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.pods[uid]
	return ok
}

// schedule picks a node for the pod with fit.Select over the nodes that
// exist, starting after where the previous pod stopped, and assumes the
// pod there; it returns the number of nodes and the verdict.
func (c *nodeCache) schedule(fp *fit.Pod, percentage int, rng *rand.Rand) (int, fit.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	nodes := c.order
	res := fit.Select(fp, nodes, c.next, percentage, rng.IntN)
	if len(nodes) > 0 {
		c.next = (c.next + res.Evaluated) % len(nodes)
	}
	if res.Node != "" {
		c.removeLocked(fp.Pod.UID)
		c.nodeLocked(res.Node).AddPod(fp)
		c.pods[fp.Pod.UID] = &cachedPod{pod: fp, node: res.Node, assumed: true}
	}
	return len(nodes), res
}

func terminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}
