package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// The scheduler runs inside `peapod server`; these tests start the server
// without an agent and create simulated nodes: Node objects whose status
// (Ready=True, allocatable) is written through nodes/status.

// schedNode creates a Ready node with the given labels and allocatable CPU.
func schedNode(t testing.TB, cs kubernetes.Interface, name string, labels map[string]string, cpu string) {
	t.Helper()
	ctx := context.Background()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	n, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(cpu),
		corev1.ResourceMemory: resource.MustParse("16Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	now := metav1.Now()
	n.Status.Capacity, n.Status.Allocatable = res, res
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "simulated node", LastHeartbeatTime: now, LastTransitionTime: now}}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// schedNodeOf is the pod's spec.nodeName.
func schedNodeOf(s *apiServer, ns, pod string) string {
	return strings.TrimSpace(s.kubectl("get", "pod", pod, "-n", ns, "-o", "jsonpath={.spec.nodeName}"))
}

// schedWaitBound waits for the pod to be bound and returns the node.
func schedWaitBound(t *testing.T, s *apiServer, ns, pod string) string {
	t.Helper()
	// The clientset, not kubectl, so that one poll is cheap (a caller
	// times the binding).
	cs := s.clientset()
	var node string
	eventually(t, 10*time.Second, "pod "+ns+"/"+pod+" bound", func() (bool, string) {
		p, err := cs.CoreV1().Pods(ns).Get(context.Background(), pod, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		node = p.Spec.NodeName
		return node != "", fmt.Sprintf("status %+v", p.Status)
	})
	return node
}

// schedWaitFailed waits until `kubectl describe` shows a FailedScheduling
// event with msg, and checks the pod is Pending with PodScheduled=False
// reason Unschedulable and the same message.
func schedWaitFailed(t *testing.T, s *apiServer, ns, pod, msg string) {
	t.Helper()
	eventually(t, 10*time.Second, "FailedScheduling for "+pod, func() (bool, string) {
		out := s.kubectl("describe", "pod", pod, "-n", ns)
		return strings.Contains(out, "FailedScheduling") && strings.Contains(out, "default-scheduler") && strings.Contains(out, msg), out
	})
	p, err := s.clientset().CoreV1().Pods(ns).Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.NodeName != "" || p.Status.Phase != corev1.PodPending {
		t.Fatalf("pod %s: node %q phase %q", pod, p.Spec.NodeName, p.Status.Phase)
	}
	found := false
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == "Unschedulable" && c.Message == msg {
			found = true
		}
	}
	if !found {
		t.Fatalf("pod %s conditions %+v, want PodScheduled=False Unschedulable %q", pod, p.Status.Conditions, msg)
	}
}

// schedEvents lists the events about one pod as "Type Reason Message xCount".
func schedEvents(t *testing.T, s *apiServer, ns, pod string) []string {
	t.Helper()
	evs, err := s.clientset().CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("involvedObject.name", pod).String()})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs.Items {
		if e.InvolvedObject.Name != pod || e.InvolvedObject.Namespace != ns {
			// The API server answers a namespaced list with a field selector
			// with other namespaces' events too (reported to the lead).
			t.Logf("listing events of %s/%s returned one about %s/%s in namespace %s", ns, pod, e.InvolvedObject.Namespace, e.InvolvedObject.Name, e.Namespace)
			continue
		}
		out = append(out, fmt.Sprintf("%s %s %s x%d from=%s", e.Type, e.Reason, e.Message, e.Count, e.Source.Component))
	}
	return out
}

// The seed's pod (the Kubernetes docs' nodeSelector example).
const schedSeedPod = `apiVersion: v1
kind: Pod
metadata:
  name: nginx
  labels:
    env: test
spec:
  containers:
  - name: nginx
    image: nginx
    imagePullPolicy: IfNotPresent
  nodeSelector:
    disktype: ssd
`

func TestSchedulerNodeSelector(t *testing.T) {
	s := apiStart(t)
	cs := s.clientset()
	schedNode(t, cs, "node-a", nil, "4")
	schedNode(t, cs, "node-b", map[string]string{"disktype": "ssd"}, "4")
	apiContains(t, "scheduler lease", s.kubectl("get", "lease", "-n", "kube-system", "peapod-scheduler", "-o", "jsonpath={.spec.holderIdentity}"), "_")

	// Two nodes, one labelled: the pod lands on it.
	s.write("nginx.yaml", schedSeedPod)
	s.kubectl("apply", "-f", "nginx.yaml")
	if node := schedWaitBound(t, s, "default", "nginx"); node != "node-b" {
		t.Fatalf("nginx on %s, want node-b (disktype=ssd)", node)
	}
	eventually(t, 5*time.Second, "Scheduled event", func() (bool, string) {
		out := s.kubectl("get", "events", "--field-selector", "involvedObject.name=nginx")
		return strings.Contains(out, "Successfully assigned default/nginx to node-b") && strings.Contains(out, "Scheduled"), out
	})
	apiContains(t, "PodScheduled", s.kubectl("get", "pod", "nginx", "-o", "jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].status}"), "True")

	// None labelled: Pending with FailedScheduling until a node is
	// labelled, then bound to it.
	s.kubectl("label", "node", "node-b", "disktype-")
	s.kubectl("create", "namespace", "waiting")
	s.kubectl("apply", "-n", "waiting", "-f", "nginx.yaml")
	msg := "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.."
	schedWaitFailed(t, s, "waiting", "nginx", msg)
	apiContains(t, "kubectl get pod", s.kubectl("get", "pod", "nginx", "-n", "waiting"), "Pending")
	// Retries with back-off are aggregated into one event with a count.
	eventually(t, 10*time.Second, "aggregated FailedScheduling", func() (bool, string) {
		evs := schedEvents(t, s, "waiting", "nginx")
		return len(evs) == 1 && !strings.HasSuffix(evs[0], " x1 from=default-scheduler"), strings.Join(evs, "\n")
	})
	s.kubectl("label", "node", "node-a", "disktype=ssd")
	start := time.Now()
	if node := schedWaitBound(t, s, "waiting", "nginx"); node != "node-a" {
		t.Fatalf("nginx on %s, want node-a", node)
	}
	t.Logf("bound %v after the label", time.Since(start))
	if time.Since(start) > 3*time.Second {
		t.Errorf("labelling the node did not retry the pod at once (%v)", time.Since(start))
	}
}

func TestSchedulerLeavesNodeNamePodsAlone(t *testing.T) {
	s := apiStart(t)
	cs := s.clientset()
	schedNode(t, cs, "node-a", nil, "4")
	schedNode(t, cs, "node-b", nil, "4")
	s.write("pinned.yaml", `apiVersion: v1
kind: Pod
metadata:
  name: pinned
spec:
  nodeName: node-b
  containers:
  - name: c
    image: busybox
`)
	s.kubectl("apply", "-f", "pinned.yaml")
	// A pod the scheduler does handle, to know it has run since.
	s.kubectl("run", "marker", "--image=busybox", "--restart=Never")
	schedWaitBound(t, s, "default", "marker")
	time.Sleep(500 * time.Millisecond)
	if evs := schedEvents(t, s, "default", "pinned"); len(evs) != 0 {
		t.Fatalf("events for the pinned pod: %q", evs)
	}
	p, err := cs.CoreV1().Pods("default").Get(context.Background(), "pinned", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.NodeName != "node-b" {
		t.Fatalf("pinned pod on %q", p.Spec.NodeName)
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			t.Fatalf("the scheduler touched the pinned pod: %+v", c)
		}
	}
}

func TestSchedulerInsufficientCPU(t *testing.T) {
	s := apiStart(t)
	cs := s.clientset()
	schedNode(t, cs, "node-a", nil, "2")
	schedNode(t, cs, "node-b", nil, "4")
	s.write("big.yaml", `apiVersion: v1
kind: Pod
metadata:
  name: big
spec:
  containers:
  - name: c
    image: busybox
    resources:
      requests:
        cpu: "64"
`)
	s.kubectl("apply", "-f", "big.yaml")
	schedWaitFailed(t, s, "default", "big",
		"0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod..")

	// Requests add up on a node: three 1.5-CPU pods fit node-b (4) twice
	// and node-a (2) once; a fourth does not fit anywhere.
	for i := range 4 {
		s.write(fmt.Sprintf("mid%d.yaml", i), fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: mid%d
spec:
  containers:
  - name: c
    image: busybox
    resources:
      requests:
        cpu: 1500m
`, i))
	}
	for i := range 3 {
		s.kubectl("apply", "-f", fmt.Sprintf("mid%d.yaml", i))
	}
	per := map[string]int{}
	for i := range 3 {
		per[schedWaitBound(t, s, "default", fmt.Sprintf("mid%d", i))]++
	}
	if per["node-a"] != 1 || per["node-b"] != 2 {
		t.Fatalf("1.5-CPU pods per node %v, want node-a 1 node-b 2", per)
	}
	s.kubectl("apply", "-f", "mid3.yaml")
	schedWaitFailed(t, s, "default", "mid3",
		"0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod..")
	// A bigger node joins: the pending pods that fit it are bound.
	schedNode(t, cs, "node-c", nil, "2")
	if node := schedWaitBound(t, s, "default", "mid3"); node != "node-c" {
		t.Fatalf("mid3 on %s", node)
	}
	if n := schedNodeOf(s, "default", "big"); n != "" {
		t.Fatalf("big bound to %s", n)
	}
}

func TestSchedulerTaintsAndTolerations(t *testing.T) {
	s := apiStart(t)
	cs := s.clientset()
	schedNode(t, cs, "node-a", nil, "4")
	schedNode(t, cs, "node-b", nil, "4")
	s.kubectl("taint", "node", "node-a", "dedicated=gpu:NoSchedule")
	s.kubectl("taint", "node", "node-b", "dedicated=gpu:NoExecute")
	s.kubectl("run", "plain", "--image=busybox", "--restart=Never")
	schedWaitFailed(t, s, "default", "plain",
		"0/2 nodes are available: 2 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling..")

	// Tolerating only NoSchedule lands on node-a.
	s.write("tol.yaml", `apiVersion: v1
kind: Pod
metadata:
  name: tolerant
spec:
  tolerations:
  - key: dedicated
    operator: Equal
    value: gpu
    effect: NoSchedule
  containers:
  - name: c
    image: busybox
`)
	s.kubectl("apply", "-f", "tol.yaml")
	if node := schedWaitBound(t, s, "default", "tolerant"); node != "node-a" {
		t.Fatalf("tolerant on %s, want node-a", node)
	}

	// A cordoned node takes no pods; removing the taint of node-b lets
	// the plain pod in, at once.
	s.kubectl("cordon", "node-a")
	s.kubectl("taint", "node", "node-a", "dedicated-")
	schedWaitFailed(t, s, "default", "plain",
		"0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling..")
	s.kubectl("taint", "node", "node-b", "dedicated-")
	if node := schedWaitBound(t, s, "default", "plain"); node != "node-b" {
		t.Fatalf("plain on %s, want node-b", node)
	}
}

// schedLeads says whether server s logged that its scheduler leads.
func schedLeads(s *apiServer) bool {
	b, _ := os.ReadFile(filepath.Join(s.dataDir, "server.log"))
	return strings.Contains(string(b), `msg="became leader" component=scheduler`)
}

// schedHeartbeat refreshes a simulated node's Ready heartbeat, so a node
// lifecycle controller does not find it stale.
func schedHeartbeat(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	ctx := context.Background()
	n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n.Status.Conditions {
		n.Status.Conditions[i].LastHeartbeatTime = metav1.Now()
	}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// Two servers on one etcd: one scheduler leads (the Lease
// kube-system/peapod-scheduler names it) and binds each pod once; when it
// dies the other takes over once the lease expires.
func TestSchedulerLeaderElection(t *testing.T) {
	etcd := storageStartExternal(t)
	a := apiStart(t, "--etcd-servers", etcd.endpoint)
	b := apiStart(t, "--etcd-servers", etcd.endpoint)
	cs := b.clientset()
	ctx := context.Background()
	eventually(t, 10*time.Second, "one scheduler leads", func() (bool, string) {
		return schedLeads(a) != schedLeads(b), fmt.Sprintf("a=%v b=%v", schedLeads(a), schedLeads(b))
	})
	leader, follower := a, b
	if schedLeads(b) {
		leader, follower = b, a
	}
	l, err := cs.CoordinationV1().Leases("kube-system").Get(ctx, "peapod-scheduler", metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		t.Fatalf("lease: %v %+v", err, l)
	}
	schedNode(t, cs, "node-a", nil, "4")
	follower.kubectl("run", "first", "--image=busybox", "--restart=Never")
	schedWaitBound(t, follower, "default", "first")
	// Events are written asynchronously; wait for one, then see it is
	// the only one.
	eventually(t, 10*time.Second, "the first pod's event", func() (bool, string) {
		evs := schedEvents(t, follower, "default", "first")
		return len(evs) >= 1, strings.Join(evs, "\n")
	})
	time.Sleep(500 * time.Millisecond)
	if evs := schedEvents(t, follower, "default", "first"); len(evs) != 1 || !strings.Contains(evs[0], "Scheduled Successfully assigned default/first to node-a x1") {
		t.Fatalf("events of the first pod: %q", evs)
	}

	leader.kill9()
	start := time.Now()
	follower.kubectl("run", "second", "--image=busybox", "--restart=Never")
	eventually(t, 40*time.Second, "the follower takes over", func() (bool, string) {
		if time.Since(start) > 10*time.Second {
			schedHeartbeat(t, cs, "node-a")
		}
		return schedNodeOf(follower, "default", "second") == "node-a", ""
	})
	if !schedLeads(follower) {
		t.Fatal("the follower bound the pod without logging leadership")
	}
	t.Logf("second pod bound %v after the leader was killed (lease 15 s)", time.Since(start).Round(100*time.Millisecond))
}
