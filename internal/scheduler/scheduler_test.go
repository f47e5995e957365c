package scheduler

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
)

// env is a Scheduler running against client-go's fake clientset, whose
// pods/binding sets spec.nodeName as the API server does.
type env struct {
	t        *testing.T
	client   *fake.Clientset
	recorder *record.FakeRecorder
	clock    *clocktesting.FakeClock
	events   []string
}

func newEnv(t *testing.T, objs ...runtime.Object) *env {
	t.Helper()
	e := &env{t: t, client: fake.NewClientset(objs...), recorder: record.NewFakeRecorder(1000),
		clock: clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	tracker := e.client.Tracker()
	podsGVR := corev1.SchemeGroupVersion.WithResource("pods")
	e.client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ca, ok := a.(k8stesting.CreateAction)
		if !ok || ca.GetSubresource() != "binding" {
			return false, nil, nil
		}
		b := ca.GetObject().(*corev1.Binding)
		obj, err := tracker.Get(podsGVR, b.Namespace, b.Name)
		if err != nil {
			return true, nil, err
		}
		pod := obj.(*corev1.Pod).DeepCopy()
		pod.Spec.NodeName = b.Target.Name
		return true, nil, tracker.Update(podsGVR, pod, b.Namespace)
	})
	return e
}

func (e *env) start(opts Options) {
	e.t.Helper()
	opts.Recorder = e.recorder
	opts.Clock = e.clock
	opts.Rand = rand.New(rand.NewPCG(1, 2))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(e.client, opts).Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("Run: %v", err)
		}
	})
}

// waitFor polls cond for up to 5 s.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s; events: %q", what, e.drain())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) drain() []string {
	for {
		select {
		case ev := <-e.recorder.Events:
			e.events = append(e.events, ev)
		default:
			return e.events
		}
	}
}

func (e *env) hasEvent(prefix string) bool {
	for _, ev := range e.drain() {
		if strings.HasPrefix(ev, prefix) {
			return true
		}
	}
	return false
}

func (e *env) countEvents(prefix string) int {
	n := 0
	for _, ev := range e.drain() {
		if strings.HasPrefix(ev, prefix) {
			n++
		}
	}
	return n
}

func (e *env) pod(name string) *corev1.Pod {
	e.t.Helper()
	p, err := e.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) nodeOf(name string) string { return e.pod(name).Spec.NodeName }

func (e *env) bindings() int {
	n := 0
	for _, a := range e.client.Actions() {
		if a.GetVerb() == "create" && a.GetSubresource() == "binding" {
			n++
		}
	}
	return n
}

func node(name string, labels map[string]string, cpu string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	n.Status.Allocatable = corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("110"),
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	return n
}

func pod(name string, mut func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)}}
	p.Spec.Containers = []corev1.Container{{Name: "c", Image: "busybox"}}
	p.Spec.SchedulerName = DefaultSchedulerName
	if mut != nil {
		mut(p)
	}
	return p
}

func cpuRequest(q string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(q)}
	}
}

func ssdSelector(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disktype": "ssd"} }

func TestBindsToTheMatchingNode(t *testing.T) {
	e := newEnv(t, node("n1", nil, "4"), node("n2", map[string]string{"disktype": "ssd"}, "4"), pod("nginx", ssdSelector))
	e.start(Options{})
	e.waitFor("binding", func() bool { return e.nodeOf("nginx") == "n2" })
	e.waitFor("Scheduled event", func() bool {
		return e.hasEvent("Normal Scheduled Successfully assigned default/nginx to n2")
	})
}

func TestUnschedulableUntilANodeIsLabelled(t *testing.T) {
	n1 := node("n1", nil, "4")
	e := newEnv(t, n1, node("n2", nil, "4"), pod("nginx", ssdSelector))
	e.start(Options{})
	want := "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.."
	e.waitFor("FailedScheduling", func() bool { return e.hasEvent("Warning FailedScheduling " + want) })
	e.waitFor("PodScheduled=False", func() bool {
		for _, c := range e.pod("nginx").Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable && c.Message == want {
				return true
			}
		}
		return false
	})
	if got := e.nodeOf("nginx"); got != "" {
		t.Fatalf("bound to %s", got)
	}
	// Labelling a node retries at once, without waiting for the back-off
	// (the fake clock does not move).
	n1 = n1.DeepCopy()
	n1.Labels = map[string]string{"disktype": "ssd"}
	if _, err := e.client.CoreV1().Nodes().Update(context.Background(), n1, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("binding after the label", func() bool { return e.nodeOf("nginx") == "n1" })
}

func TestBackoffRetry(t *testing.T) {
	e := newEnv(t, node("n1", nil, "1"), pod("big", cpuRequest("2")))
	e.start(Options{})
	e.waitFor("first failure", func() bool { return e.countEvents("Warning FailedScheduling") == 1 })
	want := "Warning FailedScheduling 0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.."
	if !e.hasEvent(want) {
		t.Fatalf("events %q, want %q", e.drain(), want)
	}
	// The back-off is 1 s, then 2 s.
	e.clock.Step(999 * time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	if n := e.countEvents("Warning FailedScheduling"); n != 1 {
		t.Fatalf("retried before the back-off: %d events", n)
	}
	e.waitFor("retry after 1 s", func() bool {
		e.clock.Step(time.Millisecond)
		return e.countEvents("Warning FailedScheduling") == 2
	})
	e.clock.Step(1500 * time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	if n := e.countEvents("Warning FailedScheduling"); n != 2 {
		t.Fatalf("second retry before 2 s: %d events", n)
	}
	e.waitFor("retry after 2 s", func() bool {
		e.clock.Step(100 * time.Millisecond)
		return e.countEvents("Warning FailedScheduling") == 3
	})
}

func TestPodsWithNodeNameAreNotTouched(t *testing.T) {
	e := newEnv(t, node("n1", nil, "4"), node("n2", nil, "4"),
		pod("pinned", func(p *corev1.Pod) { p.Spec.NodeName = "n2" }),
		pod("other-scheduler", func(p *corev1.Pod) { p.Spec.SchedulerName = "my-scheduler" }),
		pod("done", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
		pod("gated", func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "wait"}} }),
		pod("deleting", func(p *corev1.Pod) { now := metav1.Now(); p.DeletionTimestamp = &now; p.Finalizers = []string{"x"} }),
		pod("marker", nil))
	e.start(Options{})
	e.waitFor("the marker pod bound", func() bool { return e.nodeOf("marker") != "" })
	time.Sleep(100 * time.Millisecond)
	if n := e.bindings(); n != 1 {
		t.Fatalf("%d bindings, want only the marker's", n)
	}
	for _, a := range e.client.Actions() {
		if a.GetVerb() == "patch" {
			t.Fatalf("unexpected patch %v", a)
		}
	}
	if e.nodeOf("pinned") != "n2" {
		t.Fatal("pinned pod moved")
	}
	// The pinned pod's CPU (none) and count are accounted on n2, so the
	// marker, with equal scores otherwise, went to the emptier n1.
	if got := e.nodeOf("marker"); got != "n1" {
		t.Fatalf("marker on %s, want n1 (n2 has the pinned pod)", got)
	}
}

func TestBurstDoesNotOvercommit(t *testing.T) {
	objs := []runtime.Object{node("n1", nil, "2")}
	names := []string{"a", "b", "c", "d", "e"}
	for _, n := range names {
		objs = append(objs, pod(n, cpuRequest("1")))
	}
	e := newEnv(t, objs...)
	e.start(Options{})
	e.waitFor("two bound, three unschedulable", func() bool {
		return e.countEvents("Normal Scheduled") == 2 && e.countEvents("Warning FailedScheduling 0/1 nodes are available: 1 Insufficient cpu.") >= 3
	})
	bound := 0
	for _, n := range names {
		if e.nodeOf(n) != "" {
			bound++
		}
	}
	if bound != 2 {
		t.Fatalf("%d pods bound to a 2-CPU node with 1 CPU each", bound)
	}
	// Deleting a bound pod frees a CPU: one more pod is bound at once.
	for _, n := range names {
		if e.nodeOf(n) != "" {
			if err := e.client.CoreV1().Pods("default").Delete(context.Background(), n, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	e.waitFor("a third binding", func() bool { return e.countEvents("Normal Scheduled") == 3 })
}

func TestSpreadsOverNodes(t *testing.T) {
	objs := []runtime.Object{node("n1", nil, "4"), node("n2", nil, "4"), node("n3", nil, "4")}
	for i := range 9 {
		objs = append(objs, pod(string(rune('a'+i)), nil))
	}
	e := newEnv(t, objs...)
	e.start(Options{})
	e.waitFor("nine bindings", func() bool { return e.countEvents("Normal Scheduled") == 9 })
	per := map[string]int{}
	for i := range 9 {
		per[e.nodeOf(string(rune('a'+i)))]++
	}
	if per["n1"] != 3 || per["n2"] != 3 || per["n3"] != 3 {
		t.Fatalf("pods per node %v, want 3 each", per)
	}
}

func TestLeaderElection(t *testing.T) {
	e := newEnv(t, node("n1", nil, "4"), pod("p", nil))
	e.start(Options{LeaderElection: true, Identity: "me"})
	e.waitFor("binding while leading", func() bool { return e.nodeOf("p") == "n1" })
	l, err := e.client.CoordinationV1().Leases("kube-system").Get(context.Background(), "peapod-scheduler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != "me" {
		t.Fatalf("lease holder %v", l.Spec.HolderIdentity)
	}
}
