package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// clusterAgent is one `peapod agent --server` process with its own data
// dir, port, bridge, subnet and cgroup parent.
type clusterAgent struct {
	t       *testing.T
	name    string
	dataDir string
	args    []string

	mu  sync.Mutex
	cmd *exec.Cmd
	log bytes.Buffer
}

// clusterStartAgent imports busybox into a fresh data dir and starts an
// agent joining s as node name with labels (k=v,... or ""). Its cleanup
// stops it and checks nothing is left on the host; pods must be gone by
// then (clusterDeleteAllPods).
func clusterStartAgent(t *testing.T, s *apiServer, name, labels string) *clusterAgent {
	t.Helper()
	n := runtimeSubnetSeq.Add(1)
	dir, err := os.MkdirTemp("", "peapod-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	a := &clusterAgent{t: t, name: name, dataDir: filepath.Join(dir, "data")}
	os.MkdirAll(a.dataDir, 0o755)
	tag := fmt.Sprintf("%d%d", os.Getpid()%1000, n)
	check := runtimeLeakCheck(t, a.dataDir)
	run(t, peapodBin, "image", "import", "--data-dir", a.dataDir, busyboxImage(t))
	a.args = []string{"agent", "--server", fmt.Sprintf("https://127.0.0.1:%d", s.port),
		"--token-file", filepath.Join(s.dataDir, "node-token"), "--ca-file", filepath.Join(s.dataDir, "pki", "ca.crt"),
		"--node-name", name, "--data-dir", a.dataDir, "--address", "0.0.0.0", "--port", fmt.Sprint(agentFreePort(t)),
		"--bridge-name", "ppcl" + tag, "--pod-cidr", agentTestCIDR(n), "--cgroup-parent", "peapod-cluster-" + tag}
	if labels != "" {
		a.args = append(a.args, "--node-labels", labels)
	}
	a.start()
	t.Cleanup(func() {
		a.stop()
		check()
		if t.Failed() {
			a.mu.Lock()
			t.Logf("agent %s log:\n%s", name, a.log.String())
			a.mu.Unlock()
		}
		if pods, _ := os.ReadDir(filepath.Join(a.dataDir, "pods")); len(pods) != 0 {
			t.Errorf("agent %s: pod directories left: %v", name, pods)
		}
		os.RemoveAll(dir)
	})
	return a
}

func (a *clusterAgent) start() {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	cmd := exec.Command(peapodBin, a.args...)
	cmd.Stdout, cmd.Stderr = &lockedWriter{mu: &a.mu, w: &a.log}, &lockedWriter{mu: &a.mu, w: &a.log}
	if err := cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	a.cmd = cmd
}

func (a *clusterAgent) stop() {
	a.mu.Lock()
	cmd := a.cmd
	a.cmd = nil
	a.mu.Unlock()
	if cmd != nil {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
}

// clusterWaitPod polls pod name until cond holds.
func clusterWaitPod(t *testing.T, cs kubernetes.Interface, name, what string, timeout time.Duration, cond func(*v1.Pod) bool) *v1.Pod {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last *v1.Pod
	for time.Now().Before(deadline) {
		p, err := cs.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			last = p
			if cond(p) {
				return p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("pod %s: not %s within %v; last status: %+v", name, what, timeout, last)
	return nil
}

func clusterWaiting(p *v1.Pod, reasons ...string) bool {
	for _, c := range p.Status.ContainerStatuses {
		for _, r := range reasons {
			if c.State.Waiting != nil && c.State.Waiting.Reason == r {
				return true
			}
		}
	}
	return false
}

func clusterPod(name, extraSpec, policy, image, script string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  restartPolicy: %s
  terminationGracePeriodSeconds: 3
%s  containers:
  - name: c
    image: %s
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", %q]
`, name, policy, extraSpec, image, script)
}

// clusterApply applies manifest with kubectl.
func clusterApply(t *testing.T, s *apiServer, name, manifest string) {
	t.Helper()
	s.write(name+".yaml", manifest)
	s.kubectl("apply", "-f", filepath.Join(s.dataDir, name+".yaml"))
}

// clusterDeleteAllPods deletes every pod in default and waits for the
// agents' final deletes.
func clusterDeleteAllPods(t *testing.T, s *apiServer, cs kubernetes.Interface) {
	s.kubectlCmd(context.Background(), "delete", "pods", "--all", "--grace-period=1", "--wait=false").Run()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		l, err := cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{})
		if err == nil && len(l.Items) == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("pods still present after 60s")
}

func TestClusterPods(t *testing.T) {
	s := apiStart(t)
	cs := s.clientset()
	ctx := context.Background()
	plain := clusterStartAgent(t, s, "cl-plain", "")
	ssd := clusterStartAgent(t, s, "cl-ssd", "disktype=ssd,zone=a")
	t.Cleanup(func() { clusterDeleteAllPods(t, s, cs) }) // runs before the agents stop
	_ = plain

	// Both nodes register and are Ready, with the kubelet's shape.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ready := 0
		if l, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err == nil {
			for _, n := range l.Items {
				for _, c := range n.Status.Conditions {
					if c.Type == v1.NodeReady && c.Status == v1.ConditionTrue {
						ready++
					}
				}
			}
		}
		if ready == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes not Ready: %s", s.kubectl("get", "nodes", "-o", "yaml"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	n, err := cs.CoreV1().Nodes().Get(ctx, "cl-ssd", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Labels["disktype"] != "ssd" || n.Labels["kubernetes.io/hostname"] != "cl-ssd" || n.Labels["kubernetes.io/os"] != "linux" || n.Labels["kubernetes.io/arch"] == "" {
		t.Errorf("node labels: %v", n.Labels)
	}
	if q := n.Status.Allocatable[v1.ResourcePods]; q.Value() != 110 {
		t.Errorf("allocatable pods: %v", q.String())
	}
	if q := n.Status.Capacity[v1.ResourceCPU]; q.Value() < 1 {
		t.Errorf("capacity cpu: %v", q.String())
	}
	if n.Status.DaemonEndpoints.KubeletEndpoint.Port == 0 || !strings.HasPrefix(n.Status.NodeInfo.ContainerRuntimeVersion, "runc://") ||
		!strings.HasPrefix(n.Status.NodeInfo.KubeletVersion, "v1.33") || n.Spec.PodCIDR == "" || len(n.Status.Addresses) < 2 {
		t.Errorf("node status: %+v spec %+v", n.Status, n.Spec)
	}
	// The lease is the agent's heartbeat, taken beside (not before) its
	// node status.
	var lease *coordinationv1.Lease
	eventually(t, 10*time.Second, "the node lease", func() (bool, string) {
		lease, err = cs.CoordinationV1().Leases("kube-node-lease").Get(ctx, "cl-ssd", metav1.GetOptions{})
		return err == nil, fmt.Sprint(err)
	})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != "cl-ssd" || *lease.Spec.LeaseDurationSeconds != 40 {
		t.Errorf("lease: %+v %v", lease, err)
	}

	// kubectl apply → Running on the ssd node, measured through a watch.
	w, err := cs.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=web"})
	if err != nil {
		t.Fatal(err)
	}
	clusterApply(t, s, "web", clusterPod("web", "  nodeSelector: {disktype: ssd}\n", "Always", "busybox",
		"mkdir /www && echo via-agent > /www/index.html && httpd -p 127.0.0.1:8080 -h /www && echo hello-cluster && exec sleep 3600"))
	latency := clusterWatchRunning(t, w, 20*time.Second)
	t.Logf("web: creation -> Running (watch) %v", latency)
	web := clusterWaitPod(t, cs, "web", "Running", 20*time.Second, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	if web.Spec.NodeName != "cl-ssd" || web.Status.HostIP == "" || web.Status.PodIP == "" || web.Status.StartTime == nil {
		t.Errorf("web: node %q hostIP %q podIP %q", web.Spec.NodeName, web.Status.HostIP, web.Status.PodIP)
	}
	if !podReady(web) {
		t.Errorf("web not Ready: %+v", web.Status.Conditions)
	}
	if out := s.kubectl("logs", "web"); !strings.Contains(out, "hello-cluster") {
		t.Errorf("kubectl logs: %q", out)
	}
	// exec without a TTY passes the exit code through.
	out, err := s.kubectlCmd(ctx, "exec", "web", "--", "sh", "-c", "echo in-pod; exit 3").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(string(out), "in-pod") {
		t.Errorf("kubectl exec: %v %q", err, out)
	}
	clusterPortForward(t, s, "web")

	// nodeName: runs on the plain node without the scheduler.
	clusterApply(t, s, "pinned", clusterPod("pinned", "  nodeName: cl-plain\n", "Always", "busybox", "exec sleep 3600"))
	p := clusterWaitPod(t, cs, "pinned", "Running", 20*time.Second, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	if p.Spec.NodeName != "cl-plain" {
		t.Errorf("pinned on %q", p.Spec.NodeName)
	}

	// restartPolicy.
	clusterApply(t, s, "ok", clusterPod("ok", "", "Never", "busybox", "exit 0"))
	clusterApply(t, s, "bad", clusterPod("bad", "", "Never", "busybox", "exit 1"))
	clusterApply(t, s, "crash", clusterPod("crash", "", "OnFailure", "busybox", "echo crashing; exit 1"))
	clusterApply(t, s, "nope", clusterPod("nope", "", "Always", "127.0.0.1:1/peapod/nope:1", "true"))
	clusterWaitPod(t, cs, "ok", "Succeeded", 20*time.Second, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodSucceeded })
	clusterWaitPod(t, cs, "bad", "Failed", 20*time.Second, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	crash := clusterWaitPod(t, cs, "crash", "in CrashLoopBackOff", 40*time.Second, func(p *v1.Pod) bool {
		return clusterWaiting(p, "CrashLoopBackOff") && p.Status.ContainerStatuses[0].RestartCount >= 1
	})
	if crash.Status.Phase != v1.PodRunning || crash.Status.ContainerStatuses[0].LastTerminationState.Terminated == nil {
		t.Errorf("crash: phase %s, %+v", crash.Status.Phase, crash.Status.ContainerStatuses)
	}
	if out := s.kubectl("logs", "crash", "--previous"); !strings.Contains(out, "crashing") {
		t.Errorf("kubectl logs --previous: %q", out)
	}

	// No node matches: Pending with FailedScheduling until a node is
	// labelled, then it runs there.
	clusterApply(t, s, "hdd", clusterPod("hdd", "  nodeSelector: {disktype: hdd}\n", "Always", "busybox", "exec sleep 3600"))
	clusterEvent(t, cs, "hdd", func(e v1.Event) bool { return e.Type == v1.EventTypeWarning && e.Reason == "FailedScheduling" })
	if out := s.kubectl("describe", "pod", "hdd"); !strings.Contains(out, "FailedScheduling") || !strings.Contains(out, "Pending") {
		t.Errorf("kubectl describe pod hdd:\n%s", out)
	}
	s.kubectl("label", "node", "cl-plain", "disktype=hdd")
	if p := clusterWaitPod(t, cs, "hdd", "Running", 30*time.Second, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning }); p.Spec.NodeName != "cl-plain" {
		t.Errorf("hdd on %q", p.Spec.NodeName)
	}

	clusterWaitPod(t, cs, "nope", "ErrImagePull/ImagePullBackOff", 30*time.Second, func(p *v1.Pod) bool {
		return p.Status.Phase == v1.PodPending && clusterWaiting(p, "ErrImagePull", "ImagePullBackOff")
	})
	clusterEvent(t, cs, "nope", func(e v1.Event) bool {
		return e.Type == v1.EventTypeWarning && e.Reason == "Failed" && strings.Contains(e.Message, "Failed to pull image")
	})
	// Kubernetes' event shape, and repeats aggregated into one Event.
	started := clusterEvent(t, cs, "web", func(e v1.Event) bool { return e.Reason == "Started" })
	if started.Source.Component != "kubelet" || started.Source.Host != "cl-ssd" || started.ReportingController != "kubelet" ||
		started.ReportingInstance != "cl-ssd" || started.InvolvedObject.FieldPath != "spec.containers{c}" {
		t.Errorf("Started event: %+v", started)
	}
	clusterEvent(t, cs, "crash", func(e v1.Event) bool { return e.Reason == "Started" && e.Count >= 2 })

	// An agent restart does not restart containers.
	before := clusterWaitPod(t, cs, "web", "Running", time.Second, func(p *v1.Pod) bool { return true }).Status.ContainerStatuses[0]
	ssd.stop()
	ssd.start()
	time.Sleep(3 * time.Second)
	after := clusterWaitPod(t, cs, "web", "Running", 10*time.Second, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning }).Status.ContainerStatuses[0]
	if after.ContainerID != before.ContainerID || after.RestartCount != before.RestartCount {
		t.Errorf("agent restart restarted web: %s/%d -> %s/%d", before.ContainerID, before.RestartCount, after.ContainerID, after.RestartCount)
	}

	// Graceful deletion of a process that ignores SIGTERM: kubectl waits
	// the grace period (3 s), then the pod is gone from the API and host.
	clusterApply(t, s, "stubborn", clusterPod("stubborn", "  nodeName: cl-ssd\n", "Always", "busybox", "trap '' TERM; while true; do sleep 1; done"))
	clusterWaitPod(t, cs, "stubborn", "Running", 20*time.Second, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	t0 := time.Now()
	s.kubectl("delete", "pod", "stubborn")
	if d := time.Since(t0); d < 2500*time.Millisecond || d > 15*time.Second {
		t.Errorf("kubectl delete took %v, want about the 3 s grace", d)
	}
	if _, err := cs.CoreV1().Pods("default").Get(ctx, "stubborn", metav1.GetOptions{}); err == nil {
		t.Errorf("stubborn still in the API after kubectl delete")
	}
	ents, _ := os.ReadDir(filepath.Join(ssd.dataDir, "pods"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "default_stubborn_") {
			t.Errorf("pod directory left: %s", e.Name())
		}
	}

	// Force deletion: gone from the API at once; the agent still kills
	// the process (which ignores SIGTERM) within seconds, not the 30 s
	// grace of its spec.
	clusterApply(t, s, "forced", strings.Replace(clusterPod("forced", "  nodeName: cl-ssd\n", "Always", "busybox", "trap '' TERM; while true; do sleep 1; done"), "terminationGracePeriodSeconds: 3", "terminationGracePeriodSeconds: 30", 1))
	forced := clusterWaitPod(t, cs, "forced", "Running", 20*time.Second, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	t0 = time.Now()
	s.kubectl("delete", "pod", "forced", "--grace-period=0", "--force")
	if _, err := cs.CoreV1().Pods("default").Get(ctx, "forced", metav1.GetOptions{}); err == nil {
		t.Errorf("forced still in the API")
	}
	forcedDir := filepath.Join(ssd.dataDir, "pods", "default_forced_"+string(forced.UID))
	for {
		if _, err := os.Stat(forcedDir); os.IsNotExist(err) {
			break
		}
		if time.Since(t0) > 15*time.Second {
			t.Errorf("force-deleted pod still on the node after %v", time.Since(t0))
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("force-deleted pod removed from the node in %v", time.Since(t0))

	// More CPU than any node has: Pending, PodScheduled=False/Unschedulable.
	clusterApply(t, s, "huge", strings.Replace(clusterPod("huge", "", "Always", "busybox", "true"), "    imagePullPolicy: IfNotPresent\n", "    imagePullPolicy: IfNotPresent\n    resources: {requests: {cpu: \"1000\"}}\n", 1))
	clusterWaitPod(t, cs, "huge", "Unschedulable", 20*time.Second, func(p *v1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse && c.Reason == "Unschedulable" && strings.Contains(c.Message, "Insufficient cpu") {
				return p.Status.Phase == v1.PodPending && p.Spec.NodeName == ""
			}
		}
		return false
	})

	// Start latency of a few sequential pods (creation -> Running, watch).
	var lats []time.Duration
	for i := range 5 {
		name := fmt.Sprintf("lat%d", i)
		w, err := cs.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
		if err != nil {
			t.Fatal(err)
		}
		pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.PodSpec{
			NodeName:   "cl-ssd",
			Containers: []v1.Container{{Name: "c", Image: "busybox", ImagePullPolicy: v1.PullIfNotPresent, Command: []string{"sleep", "3600"}}},
		}}
		if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		lats = append(lats, clusterWatchRunning(t, w, 20*time.Second))
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	t.Logf("pod start latency (nodeName set, creation -> Running via watch), %d pods: min %v median %v max %v", len(lats), lats[0], lats[len(lats)/2], lats[len(lats)-1])
}

// clusterWatchRunning waits on w for the pod to be Running with every
// container running and returns creationTimestamp -> the event's arrival.
func clusterWatchRunning(t *testing.T, w watch.Interface, timeout time.Duration) time.Duration {
	t.Helper()
	defer w.Stop()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var created time.Time
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("watch closed")
			}
			p, ok := ev.Object.(*v1.Pod)
			if !ok {
				continue
			}
			if created.IsZero() {
				created = time.Now() // creationTimestamp has 1 s resolution; the ADDED event is the creation
			}
			if p.Status.Phase != v1.PodRunning || len(p.Status.ContainerStatuses) == 0 {
				continue
			}
			all := true
			for _, c := range p.Status.ContainerStatuses {
				all = all && c.State.Running != nil
			}
			if all {
				return time.Since(created)
			}
		case <-timer.C:
			t.Fatalf("pod not Running within %v", timeout)
		}
	}
}

// clusterEvent waits for an event about pod that matches.
func clusterEvent(t *testing.T, cs kubernetes.Interface, pod string, match func(v1.Event) bool) v1.Event {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var seen []string
	for time.Now().Before(deadline) {
		l, err := cs.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod})
		if err == nil {
			seen = seen[:0]
			for _, e := range l.Items {
				if match(e) {
					return e
				}
				seen = append(seen, fmt.Sprintf("%s %s x%d: %s", e.Type, e.Reason, e.Count, e.Message))
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no matching event for %s; events:\n%s", pod, strings.Join(seen, "\n"))
	return v1.Event{}
}

// clusterPortForward checks kubectl port-forward to the pod's httpd.
func clusterPortForward(t *testing.T, s *apiServer, pod string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := kubectlPortForwardGet(ctx, s, pod, "8080", "/index.html")
	if err != nil {
		t.Error(err)
		return
	}
	if string(b) != "via-agent\n" {
		t.Errorf("port-forward: %q", b)
	}
}

// TestClusterServerAgent: `peapod server` without --disable-agent runs
// its own node; a pod runs there and is deleted, and stopping the server
// leaves nothing of the pod network behind.
func TestClusterServerAgent(t *testing.T) {
	n := runtimeSubnetSeq.Add(1)
	bridge := fmt.Sprintf("ppsv%d%d", os.Getpid()%1000, n)
	s := apiStart(t, "--disable-agent=false", "--agent-port", fmt.Sprint(agentFreePort(t)), "--node-name", "cl-builtin",
		"--bridge-name", bridge, "--pod-cidr", agentTestCIDR(n), "--node-labels", "role=builtin")
	check := runtimeLeakCheck(t, s.dataDir)
	run(t, peapodBin, "image", "import", "--data-dir", s.dataDir, busyboxImage(t))
	cs := s.clientset()
	t.Cleanup(func() {
		clusterDeleteAllPods(t, s, cs)
		s.cmd.Process.Signal(syscall.SIGTERM)
		s.cmd.Wait()
		s.cmd = nil
		check()
		if err := exec.Command("ip", "link", "show", bridge).Run(); err == nil {
			t.Errorf("bridge %s left behind", bridge)
		}
		if t.Failed() {
			out, _ := os.ReadFile(filepath.Join(s.dataDir, "server.log"))
			t.Logf("server log:\n%s", out)
		}
	})
	clusterApply(t, s, "solo", clusterPod("solo", "", "Always", "busybox", "echo from-builtin; exec sleep 3600"))
	p := clusterWaitPod(t, cs, "solo", "Running", 30*time.Second, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	if p.Spec.NodeName != "cl-builtin" {
		t.Errorf("solo on %q", p.Spec.NodeName)
	}
	node, err := cs.CoreV1().Nodes().Get(context.Background(), "cl-builtin", metav1.GetOptions{})
	if err != nil || node.Labels["role"] != "builtin" {
		t.Errorf("node %v: %v", err, node)
	}
	if out := s.kubectl("logs", "solo"); !strings.Contains(out, "from-builtin") {
		t.Errorf("kubectl logs: %q", out)
	}
}
