// Package node registers the agent's Node object, posts its status and
// renews its Lease in kube-node-lease (SEMANTICS.md §12).
package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/peapod/peapod/internal/agent/admit"
)

// Kubernetes' timings: the lease lasts 40 s and is renewed every 10 s;
// the status is computed every 10 s.
const (
	LeaseNamespace       = "kube-node-lease"
	LeaseDurationSeconds = 40
	DefaultInterval      = 10 * time.Second
	DefaultMaxPods       = 110
)

// Config describes the node.
type Config struct {
	Name    string
	Labels  map[string]string
	NodeIP  string
	PodCIDR string
	Port    int32 // the agent API's port (daemonEndpoints.kubeletEndpoint)
	// Host facts; see HostInfo.
	Host HostInfo
	// DataDir is the agent's data dir, whose filesystem DiskPressure
	// watches.
	DataDir string
	// Thresholds of the pressure conditions; nil: DefaultThresholds.
	Thresholds *Thresholds
	// Measure reads the host for the pressure conditions at each status
	// post; default ReadMeasures(DataDir).
	Measure func() Measures
	// Interval of status posts and lease renewals; default 10 s.
	Interval time.Duration
	Now      func() time.Time
	Logf     func(format string, args ...any)
}

// Heartbeat keeps the Node and its Lease up to date. Run's goroutine is the
// only writer.
type Heartbeat struct {
	client kubernetes.Interface
	cfg    Config
	last   *v1.Node
	// latest is the newest node object seen, for readers on other
	// goroutines (admission).
	latest atomic.Pointer[v1.Node]
}

// New returns a heartbeat for cfg; Name is required.
func New(client kubernetes.Interface, cfg Config) (*Heartbeat, error) {
	if cfg.Name == "" {
		return nil, errors.New("node: a name is required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Measure == nil {
		dir := cfg.DataDir
		cfg.Measure = func() Measures { return ReadMeasures(dir) }
	}
	return &Heartbeat{client: client, cfg: cfg}, nil
}

// Register creates the Node, or updates the one a previous agent left
// (labels merged, spec podCIDR set), and posts its first status and lease.
func (h *Heartbeat) Register(ctx context.Context) error {
	if err := h.ensureNode(ctx); err != nil {
		return err
	}
	if err := h.postStatus(ctx); err != nil {
		return err
	}
	return h.renewLease(ctx)
}

// Run posts the status and renews the lease every interval until ctx ends.
// Failures are logged and retried sooner.
func (h *Heartbeat) Run(ctx context.Context) {
	t := time.NewTimer(h.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		next := h.cfg.Interval
		if err := h.renewLease(ctx); err != nil && ctx.Err() == nil {
			h.cfg.Logf("node %s: renewing the lease: %v", h.cfg.Name, err)
			next = time.Second
		}
		if err := h.postStatus(ctx); err != nil && ctx.Err() == nil {
			h.cfg.Logf("node %s: posting status: %v", h.cfg.Name, err)
			next = time.Second
		}
		t.Reset(next)
	}
}

func (h *Heartbeat) ensureNode(ctx context.Context) error {
	nodes := h.client.CoreV1().Nodes()
	want := Desired(h.cfg)
	cur, err := nodes.Get(ctx, h.cfg.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		created, err := nodes.Create(ctx, want, metav1.CreateOptions{FieldManager: "peapod-agent"})
		if err == nil {
			h.setLast(created)
			h.cfg.Logf("node %s: registered", h.cfg.Name)
			return nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("registering node %s: %w", h.cfg.Name, err)
		}
		cur, err = nodes.Get(ctx, h.cfg.Name, metav1.GetOptions{})
	}
	if err != nil {
		return fmt.Errorf("reading node %s: %w", h.cfg.Name, err)
	}
	upd := cur.DeepCopy()
	if upd.Labels == nil {
		upd.Labels = map[string]string{}
	}
	maps.Copy(upd.Labels, want.Labels)
	if upd.Spec.PodCIDR == "" {
		upd.Spec.PodCIDR = want.Spec.PodCIDR
		upd.Spec.PodCIDRs = want.Spec.PodCIDRs
	}
	if !apiequality.Semantic.DeepEqual(upd, cur) {
		if cur, err = nodes.Update(ctx, upd, metav1.UpdateOptions{FieldManager: "peapod-agent"}); err != nil {
			return fmt.Errorf("updating node %s: %w", h.cfg.Name, err)
		}
	}
	h.setLast(cur)
	h.cfg.Logf("node %s: re-registered (existing object reused)", h.cfg.Name)
	return nil
}

// postStatus writes the node status computed now, retrying once on a
// conflict with a fresh read.
func (h *Heartbeat) postStatus(ctx context.Context) error {
	nodes := h.client.CoreV1().Nodes()
	for attempt := 0; ; attempt++ {
		if h.last == nil {
			cur, err := nodes.Get(ctx, h.cfg.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				// Deleted under us (kubectl delete node): register again.
				if err := h.ensureNode(ctx); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			h.setLast(cur)
		}
		n := h.last.DeepCopy()
		n.Status = Status(h.cfg, h.cfg.Measure(), h.last.Status, h.cfg.Now())
		h.logPressure(h.last.Status, n.Status)
		upd, err := nodes.UpdateStatus(ctx, n, metav1.UpdateOptions{FieldManager: "peapod-agent"})
		if err == nil {
			h.setLast(upd)
			return nil
		}
		h.last = nil
		if attempt >= 2 || !(apierrors.IsConflict(err) || apierrors.IsNotFound(err)) {
			return err
		}
	}
}

func (h *Heartbeat) renewLease(ctx context.Context) error {
	leases := h.client.CoordinationV1().Leases(LeaseNamespace)
	now := metav1.NewMicroTime(h.cfg.Now())
	cur, err := leases.Get(ctx, h.cfg.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		l := &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: h.cfg.Name, Namespace: LeaseNamespace},
			Spec:       LeaseSpec(h.cfg.Name, now),
		}
		if h.last != nil {
			l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: h.last.Name, UID: h.last.UID}}
		}
		_, err = leases.Create(ctx, l, metav1.CreateOptions{FieldManager: "peapod-agent"})
		return err
	}
	if err != nil {
		return err
	}
	l := cur.DeepCopy()
	l.Spec = LeaseSpec(h.cfg.Name, now)
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{FieldManager: "peapod-agent"})
	return err
}

// LeaseSpec is the lease a node holds at now.
func LeaseSpec(name string, now metav1.MicroTime) coordinationv1.LeaseSpec {
	d := int32(LeaseDurationSeconds)
	return coordinationv1.LeaseSpec{HolderIdentity: &name, LeaseDurationSeconds: &d, RenewTime: &now}
}

func (h *Heartbeat) setLast(n *v1.Node) {
	h.last = n
	h.latest.Store(n)
}

// Node is the node for admission: the latest object the heartbeat saw
// (labels and taints as others set them, within an interval), or with
// fresh one read from the API server now. Safe for concurrent use.
func (h *Heartbeat) Node(ctx context.Context, fresh bool) (admit.Node, error) {
	if fresh {
		n, err := h.client.CoreV1().Nodes().Get(ctx, h.cfg.Name, metav1.GetOptions{})
		if err != nil {
			return admit.Node{}, fmt.Errorf("reading node %s: %w", h.cfg.Name, err)
		}
		h.latest.Store(n)
		return AdmitNode(n), nil
	}
	if n := h.latest.Load(); n != nil {
		return AdmitNode(n), nil
	}
	return AdmitNode(Desired(h.cfg)), nil
}

// AdmitNode is what admission needs of n.
func AdmitNode(n *v1.Node) admit.Node {
	a := admit.Node{Name: n.Name, Allocatable: n.Status.Allocatable, Labels: n.Labels, Taints: n.Spec.Taints}
	for _, t := range []v1.NodeConditionType{v1.NodeMemoryPressure, v1.NodeDiskPressure, v1.NodePIDPressure} {
		for _, c := range n.Status.Conditions {
			if c.Type == t && c.Status == v1.ConditionTrue {
				a.Pressure = append(a.Pressure, t)
			}
		}
	}
	return a
}

func (c Config) thresholds() Thresholds {
	if c.Thresholds != nil {
		return *c.Thresholds
	}
	return DefaultThresholds
}

// logPressure logs the pressure conditions that changed status.
func (h *Heartbeat) logPressure(prev, next v1.NodeStatus) {
	for _, c := range next.Conditions {
		if c.Type == v1.NodeReady {
			continue
		}
		for _, p := range prev.Conditions {
			if p.Type == c.Type && p.Status != c.Status {
				h.cfg.Logf("node %s: %s is %s: %s", h.cfg.Name, c.Type, c.Status, c.Message)
			}
		}
	}
}
