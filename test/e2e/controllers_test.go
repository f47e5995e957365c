package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The serviceaccount controller gives every namespace a default SA and
// kube-root-ca.crt (the server's CA), and restores them; the namespace
// controller empties a deleted namespace and finalizes it.
func TestControllersNamespaceLifecycle(t *testing.T) {
	s := apiStart(t)
	cs := s.clientset()
	ctx := context.Background()
	caPEM, err := os.ReadFile(filepath.Join(s.dataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}

	s.kubectl("create", "namespace", "team")
	took := eventually(t, 5*time.Second, "default SA and kube-root-ca.crt in team", func() (bool, string) {
		out, err := s.kubectlCmd(ctx, "get", "serviceaccount/default", "configmap/kube-root-ca.crt", "-n", "team", "-o", "name").CombinedOutput()
		return err == nil, string(out)
	})
	t.Logf("new namespace got its default SA and root CA in %v", took)
	cm, err := cs.CoreV1().ConfigMaps("team").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
	if err != nil || cm.Data["ca.crt"] != string(caPEM) {
		t.Fatalf("kube-root-ca.crt: %v %q", err, cm.Data)
	}
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		eventually(t, 5*time.Second, "default SA in "+ns, func() (bool, string) {
			_, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			return err == nil, ""
		})
	}

	// deleted or changed: restored
	s.kubectl("delete", "serviceaccount", "default", "-n", "team")
	s.kubectl("-n", "team", "patch", "configmap", "kube-root-ca.crt", "--type=merge", "-p", `{"data":{"ca.crt":"tampered","extra":"x"}}`)
	eventually(t, 5*time.Second, "restored SA and CA", func() (bool, string) {
		_, err := cs.CoreV1().ServiceAccounts("team").Get(ctx, "default", metav1.GetOptions{})
		cm, cerr := cs.CoreV1().ConfigMaps("team").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		if err != nil || cerr != nil {
			return false, "missing"
		}
		return cm.Data["ca.crt"] == string(caPEM) && len(cm.Data) == 1, strings.Join([]string{cm.Data["ca.crt"]}, "")
	})
	s.kubectl("delete", "configmap", "kube-root-ca.crt", "-n", "team")
	eventually(t, 5*time.Second, "recreated kube-root-ca.crt", func() (bool, string) {
		_, err := cs.CoreV1().ConfigMaps("team").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		return err == nil, ""
	})

	// Deleting a namespace deletes its content (of every kind) and only
	// its content, then the namespace itself.
	s.kubectl("create", "namespace", "x")
	s.kubectl("-n", "x", "create", "secret", "generic", "creds", "--from-literal=user=admin")
	s.kubectl("-n", "x", "create", "configmap", "settings", "--from-literal=a=b")
	s.kubectl("-n", "default", "create", "configmap", "settings", "--from-literal=keep=me")
	s.write("x-extra.yaml", `apiVersion: v1
kind: Pod
metadata: {name: pending, namespace: x}
spec:
  containers: [{name: c, image: busybox}]
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: l, namespace: x}
spec: {holderIdentity: me}
---
apiVersion: settings.k8s.io/v1alpha1
kind: PodPreset
metadata: {name: pp, namespace: x}
spec:
  selector: {}
  env: [{name: A, value: b}]
`)
	s.kubectl("apply", "-f", "x-extra.yaml")
	start := time.Now()
	apiContains(t, "delete ns", s.kubectl("delete", "ns", "x", "--timeout=30s"), `namespace "x" deleted`)
	s.kubectl("wait", "--for=delete", "ns/x", "--timeout=30s")
	t.Logf("kubectl delete ns x (secret, configmap, pod, lease, podpreset) completed in %v", time.Since(start))
	if _, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "settings", metav1.GetOptions{}); err != nil {
		t.Fatalf("a configmap in another namespace went with x: %v", err)
	}
	if _, err := cs.CoreV1().ConfigMaps("team").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{}); err != nil {
		t.Fatalf("team's root CA went with x: %v", err)
	}
	// recreating the name starts empty (but for the controller's objects)
	s.kubectl("create", "namespace", "x")
	if _, err := cs.CoreV1().Secrets("x").Get(ctx, "creds", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("old secret in recreated namespace: %v", err)
	}
	if _, err := cs.CoreV1().ConfigMaps("x").Get(ctx, "settings", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("old configmap in recreated namespace: %v", err)
	}

	// Content with a finalizer holds the namespace, which says so in
	// its conditions; releasing it lets the namespace go.
	s.kubectl("create", "namespace", "held")
	if _, err := cs.CoreV1().ConfigMaps("held").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "hold", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.kubectl("delete", "ns", "held", "--wait=false")
	eventually(t, 10*time.Second, "NamespaceFinalizersRemaining", func() (bool, string) {
		ns, err := cs.CoreV1().Namespaces().Get(ctx, "held", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range ns.Status.Conditions {
			if c.Type == corev1.NamespaceFinalizersRemaining && c.Status == corev1.ConditionTrue &&
				c.Message == "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances" {
				return ns.Status.Phase == corev1.NamespaceTerminating, ""
			}
		}
		return false, ctrlConditions(ns)
	})
	apiContains(t, "describe held", s.kubectl("get", "ns", "held"), "Terminating")
	s.kubectl("-n", "held", "patch", "configmap", "hold", "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	s.kubectl("wait", "--for=delete", "ns/held", "--timeout=30s")

	// A pod on a node is deleted gracefully (the API gives it 30 s for its
	// agent): the namespace waits for it, then goes once it is gone.
	ctrlSimNode(t, cs, "sim-ns")
	s.kubectl("create", "namespace", "slow")
	if _, err := cs.CoreV1().Pods("slow").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bound"},
		Spec: corev1.PodSpec{NodeName: "sim-ns", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.kubectl("delete", "ns", "slow", "--wait=false")
	eventually(t, 10*time.Second, "NamespaceContentRemaining for the graceful pod", func() (bool, string) {
		ns, err := cs.CoreV1().Namespaces().Get(ctx, "slow", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range ns.Status.Conditions {
			if c.Type == corev1.NamespaceContentRemaining && c.Status == corev1.ConditionTrue &&
				c.Reason == "SomeResourcesRemain" && c.Message == "Some resources are remaining: pods has 1 resource instances" {
				return true, ""
			}
		}
		return false, ctrlConditions(ns)
	})
	if p, err := cs.CoreV1().Pods("slow").Get(ctx, "bound", metav1.GetOptions{}); err != nil || p.DeletionTimestamp == nil || *p.DeletionGracePeriodSeconds != 30 {
		t.Fatalf("bound pod should be terminating with 30s grace: %v %+v", err, p)
	}
	// the agent confirms the pod stopped
	start = time.Now()
	s.kubectl("-n", "slow", "delete", "pod", "bound", "--grace-period=0", "--force")
	s.kubectl("wait", "--for=delete", "ns/slow", "--timeout=30s")
	t.Logf("namespace gone %v after its last pod", time.Since(start))
}

func ctrlConditions(ns *corev1.Namespace) string {
	var b strings.Builder
	for _, c := range ns.Status.Conditions {
		b.WriteString(string(c.Type) + "=" + string(c.Status) + " " + c.Reason + ": " + c.Message + "\n")
	}
	return b.String()
}

// ctrlSimNode creates a simulated node reporting Ready now, with its Lease.
func ctrlSimNode(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	ctx := context.Background()
	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ctrlReport(t, cs, name)
}

// ctrlReport is one agent report: Ready=True with a fresh heartbeat, and
// the Lease renewed.
func ctrlReport(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	ctx := context.Background()
	n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "simulated", LastHeartbeatTime: now, LastTransitionTime: now}}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	ctrlRenew(t, cs, name)
}

func ctrlRenew(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	ctx := context.Background()
	leases := cs.CoordinationV1().Leases("kube-node-lease")
	rt := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		secs := int32(40)
		_, err = leases.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &name, LeaseDurationSeconds: &secs, RenewTime: &rt}}, metav1.CreateOptions{})
	} else if err == nil {
		l.Spec.RenewTime = &rt
		_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
}

// ctrlBoundPod creates a pod on node and sets its status to phase.
func ctrlBoundPod(t *testing.T, cs kubernetes.Interface, name, node string, phase corev1.PodPhase) {
	t.Helper()
	ctx := context.Background()
	p, err := cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ready := corev1.ConditionTrue
	if phase != corev1.PodRunning {
		ready = corev1.ConditionFalse
	}
	p.Status.Phase = phase
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: ready, LastTransitionTime: metav1.Now()}}
	if _, err := cs.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func ctrlTainted(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == "node.kubernetes.io/unreachable" && t.Effect == corev1.TaintEffectNoSchedule {
			return true
		}
	}
	return false
}

// A node whose lease and status go stale turns Unknown and tainted, its
// running pods Unknown/NodeLost; a node that keeps reporting is left
// alone; a report brings the node back; deleting the node lets podgc
// remove its pods.
func TestControllersNodeLifecycle(t *testing.T) {
	s := apiStart(t, "--node-monitor-grace-period=3s", "--node-monitor-period=500ms", "--pod-gc-period=500ms", "--pod-gc-orphan-quarantine=2s")
	cs := s.clientset()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	stopped := time.Now() // sim-lost's only heartbeat is after this
	ctrlSimNode(t, cs, "sim-lost")
	ctrlSimNode(t, cs, "sim-alive")
	ctrlBoundPod(t, cs, "web", "sim-lost", corev1.PodRunning)
	ctrlBoundPod(t, cs, "done", "sim-lost", corev1.PodSucceeded)
	ctrlBoundPod(t, cs, "other", "sim-alive", corev1.PodRunning)
	// sim-alive's agent keeps renewing its lease (its status stays old)
	aliveDone := make(chan struct{})
	go func() {
		defer close(aliveDone)
		for ctx.Err() == nil {
			rt := metav1.NewMicroTime(time.Now())
			if l, err := cs.CoordinationV1().Leases("kube-node-lease").Get(ctx, "sim-alive", metav1.GetOptions{}); err == nil {
				l.Spec.RenewTime = &rt
				cs.CoordinationV1().Leases("kube-node-lease").Update(ctx, l, metav1.UpdateOptions{})
			}
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	defer func() { cancel(); <-aliveDone }()

	took := eventually(t, 15*time.Second, "sim-lost Unknown and tainted", func() (bool, string) {
		n, err := cs.CoreV1().Nodes().Get(ctx, "sim-lost", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionUnknown && c.Reason == "NodeStatusUnknown" &&
					c.Message == "Kubelet stopped posting node status." && ctrlTainted(n), c.String()
			}
		}
		return false, "no Ready condition"
	})
	t.Logf("stale node marked %v after its last report (grace 3s, monitor period 500ms; %v of polling)", time.Since(stopped), took)
	if since := time.Since(stopped); since < 3*time.Second {
		t.Fatalf("node marked after %v, before the 3s grace", since)
	}
	eventually(t, 10*time.Second, "web Unknown/NodeLost", func() (bool, string) {
		p, err := cs.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionFalse {
				return p.Status.Phase == corev1.PodUnknown && p.Status.Reason == "NodeLost" &&
					p.Status.Message == "Node sim-lost which was running pod web is unresponsive", p.Status.String()
			}
		}
		return false, p.Status.String()
	})
	apiContains(t, "kubectl get pod web", s.kubectl("get", "pod", "web"), "NodeLost")
	eventually(t, 5*time.Second, "NodeNotReady events for sim-lost and web", func() (bool, string) {
		evs, err := cs.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		node, pod := false, false
		for _, e := range evs.Items {
			if e.Reason != "NodeNotReady" {
				continue
			}
			node = node || (e.InvolvedObject.Kind == "Node" && e.InvolvedObject.Name == "sim-lost" && e.Message == "Node sim-lost status is now: NodeNotReady")
			pod = pod || (e.InvolvedObject.Kind == "Pod" && e.InvolvedObject.Name == "web" && e.Type == corev1.EventTypeWarning && e.Message == "Node is not ready")
		}
		return node && pod, fmt.Sprintf("node event %v, pod event %v", node, pod)
	})
	if p, _ := cs.CoreV1().Pods("default").Get(ctx, "done", metav1.GetOptions{}); p.Status.Phase != corev1.PodSucceeded {
		t.Fatalf("a terminated pod was changed: %+v", p.Status)
	}
	// the node that renews its lease stays as it is
	n, _ := cs.CoreV1().Nodes().Get(ctx, "sim-alive", metav1.GetOptions{})
	if ctrlTainted(n) || n.Status.Conditions[0].Status != corev1.ConditionTrue {
		t.Fatalf("sim-alive marked although its lease is renewed: %+v %+v", n.Spec.Taints, n.Status.Conditions)
	}
	if p, _ := cs.CoreV1().Pods("default").Get(ctx, "other", metav1.GetOptions{}); p.Status.Phase != corev1.PodRunning {
		t.Fatalf("pod on a live node changed: %+v", p.Status)
	}

	// The agent reports again: its status replaces Unknown, the taint goes.
	ctrlReport(t, cs, "sim-lost")
	eventually(t, 5*time.Second, "taint removed from sim-lost", func() (bool, string) {
		n, err := cs.CoreV1().Nodes().Get(ctx, "sim-lost", metav1.GetOptions{})
		return err == nil && !ctrlTainted(n), ""
	})

	// The node is deleted: after the quarantine podgc force-deletes its pods.
	s.kubectl("delete", "node", "sim-lost")
	start := time.Now()
	eventually(t, 15*time.Second, "pods of sim-lost gone", func() (bool, string) {
		out := s.kubectl("get", "pods", "-o", "name")
		return !strings.Contains(out, "pod/web") && !strings.Contains(out, "pod/done"), out
	})
	if since := time.Since(start); since < 2*time.Second {
		t.Fatalf("pods collected after %v, before the 2s quarantine", since)
	}
	if _, err := cs.CoreV1().Pods("default").Get(ctx, "other", metav1.GetOptions{}); err != nil {
		t.Fatalf("pod on a live node collected: %v", err)
	}
}

// ctrlLeads says whether server s logged that its controllers lead.
func ctrlLeads(s *apiServer) bool {
	b, _ := os.ReadFile(filepath.Join(s.dataDir, "server.log"))
	return strings.Contains(string(b), "controllers: became leader")
}

// Two servers on one etcd: only one runs the controllers (the Lease
// names it); when it dies the other takes over and keeps namespaces
// provisioned.
func TestControllersLeaderElection(t *testing.T) {
	etcd := storageStartExternal(t)
	a := apiStart(t, "--etcd-servers", etcd.endpoint)
	b := apiStart(t, "--etcd-servers", etcd.endpoint)
	cs := b.clientset()
	ctx := context.Background()
	var holder string
	eventually(t, 10*time.Second, "controller manager lease", func() (bool, string) {
		l, err := cs.CoordinationV1().Leases("kube-system").Get(ctx, "peapod-controller-manager", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return false, ""
		}
		holder = *l.Spec.HolderIdentity
		return holder != "", ""
	})
	// The leader logs after it took the lease.
	eventually(t, 10*time.Second, "a leader's log", func() (bool, string) {
		return ctrlLeads(a) || ctrlLeads(b), ""
	})
	time.Sleep(time.Second)
	leader, follower := a, b
	if ctrlLeads(b) {
		leader, follower = b, a
	}
	if !ctrlLeads(leader) || ctrlLeads(follower) {
		t.Fatalf("want exactly one leader: a=%v b=%v", ctrlLeads(a), ctrlLeads(b))
	}
	leader.kill9()
	took := eventually(t, 40*time.Second, "follower takes the lease", func() (bool, string) {
		return ctrlLeads(follower), ""
	})
	t.Logf("lease taken over %v after the leader was killed (15s lease)", took)
	if l, err := follower.clientset().CoordinationV1().Leases("kube-system").Get(ctx, "peapod-controller-manager", metav1.GetOptions{}); err != nil || *l.Spec.HolderIdentity == holder {
		t.Fatalf("lease still held by the dead leader: %v %+v", err, l)
	}
	follower.kubectl("create", "namespace", "after-failover")
	eventually(t, 5*time.Second, "default SA from the new leader", func() (bool, string) {
		_, err := follower.clientset().CoreV1().ServiceAccounts("after-failover").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, ""
	})
}
