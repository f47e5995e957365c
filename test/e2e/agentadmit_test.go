package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAgentAdmission: pods bound to a node with spec.nodeName (no
// scheduler) that do not fit it are rejected by the agent as the kubelet
// does: phase Failed, its reason and message, a Warning event, and nothing
// created on the host; a pod that fits runs next to them.
func TestAgentAdmission(t *testing.T) {
	s := apiStart(t)
	cs := s.clientset()
	ctx := context.Background()
	a := clusterStartAgent(t, s, "adm-n1", "disktype=hdd")
	t.Cleanup(func() { clusterDeleteAllPods(t, s, cs) }) // before the agent stops

	var node *v1.Node
	deadline := time.Now().Add(30 * time.Second)
	for node == nil {
		if n, err := cs.CoreV1().Nodes().Get(ctx, "adm-n1", metav1.GetOptions{}); err == nil && agentadmitReady(n) {
			node = n
		} else if time.Now().After(deadline) {
			t.Fatalf("node adm-n1 not Ready: %v", err)
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	// The pressure conditions, measured from the host, in the kubelet's words.
	reasons := map[v1.NodeConditionType][2]string{
		v1.NodeMemoryPressure: {"KubeletHasSufficientMemory", "KubeletHasInsufficientMemory"},
		v1.NodeDiskPressure:   {"KubeletHasNoDiskPressure", "KubeletHasDiskPressure"},
		v1.NodePIDPressure:    {"KubeletHasSufficientPID", "KubeletHasInsufficientPID"},
	}
	for _, c := range node.Status.Conditions {
		r, ok := reasons[c.Type]
		if !ok {
			continue
		}
		delete(reasons, c.Type)
		want := r[0]
		if c.Status == v1.ConditionTrue {
			want = r[1]
			t.Logf("this host is under %s: %s", c.Type, c.Message)
		}
		if c.Reason != want {
			t.Errorf("%s %s: reason %q, want %q", c.Type, c.Status, c.Reason, want)
		}
	}
	if len(reasons) != 0 {
		t.Errorf("missing node conditions: %v", reasons)
	}
	cpu := node.Status.Allocatable[v1.ResourceCPU]
	capMilli := cpu.MilliValue()
	want := capMilli + 1000

	clusterApply(t, s, "adm-big", clusterPod("adm-big",
		"  nodeName: adm-n1\n", "Always", "busybox", "exec sleep 3600")+
		fmt.Sprintf("    resources: {requests: {cpu: %dm}}\n", want))
	clusterApply(t, s, "adm-ssd", clusterPod("adm-ssd",
		"  nodeName: adm-n1\n  nodeSelector: {disktype: ssd}\n", "Always", "busybox", "exec sleep 3600"))
	clusterApply(t, s, "adm-ok", clusterPod("adm-ok",
		"  nodeName: adm-n1\n", "Always", "busybox", "exec sleep 3600")+"    resources: {requests: {cpu: 100m}}\n")

	failed := func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed }
	big := clusterWaitPod(t, cs, "adm-big", "Failed", 20*time.Second, failed)
	msg := fmt.Sprintf("Node didn't have enough resource: cpu, requested: %d, used: ", want)
	if big.Status.Reason != "OutOfcpu" || !strings.HasPrefix(big.Status.Message, "Pod was rejected: "+msg) ||
		!strings.HasSuffix(big.Status.Message, fmt.Sprintf(", capacity: %d", capMilli)) {
		t.Errorf("adm-big: reason %q message %q", big.Status.Reason, big.Status.Message)
	}
	if len(big.Status.ContainerStatuses) != 0 || big.Status.PodIP != "" {
		t.Errorf("adm-big has runtime state: %+v", big.Status)
	}
	// What kubectl shows: STATUS is the reason, and describe the event.
	if out := s.kubectl("get", "pod", "adm-big", "--no-headers"); !strings.Contains(out, "OutOfcpu") {
		t.Errorf("kubectl get pod adm-big: %q", out)
	}
	clusterEvent(t, cs, "adm-big", func(e v1.Event) bool {
		return e.Type == v1.EventTypeWarning && e.Reason == "OutOfcpu" && strings.HasPrefix(e.Message, msg)
	})
	if out := s.kubectl("describe", "pod", "adm-big"); !strings.Contains(out, "OutOfcpu") || !strings.Contains(out, "Pod was rejected") {
		t.Errorf("kubectl describe pod adm-big:\n%s", out)
	}

	ssd := clusterWaitPod(t, cs, "adm-ssd", "Failed", 20*time.Second, failed)
	if ssd.Status.Reason != "NodeAffinity" ||
		ssd.Status.Message != "Pod was rejected: Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector" {
		t.Errorf("adm-ssd: reason %q message %q", ssd.Status.Reason, ssd.Status.Message)
	}

	clusterWaitPod(t, cs, "adm-ok", "Running", 20*time.Second, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })

	// A label added a moment ago counts: before rejecting on node affinity
	// the agent reads the node again, as the kubelet does.
	s.kubectl("label", "node", "adm-n1", "disktype=ssd", "--overwrite")
	clusterApply(t, s, "adm-ssd2", clusterPod("adm-ssd2",
		"  nodeName: adm-n1\n  nodeSelector: {disktype: ssd}\n", "Always", "busybox", "exec sleep 3600"))
	clusterWaitPod(t, cs, "adm-ssd2", "Running", 20*time.Second, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })

	// Nothing of the rejected pods reached the host: only the running
	// pods have a pod directory and log files.
	ents, _ := os.ReadDir(filepath.Join(a.dataDir, "pods"))
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "default_adm-ok_") && !strings.HasPrefix(e.Name(), "default_adm-ssd2_") {
			t.Errorf("pod directory %s on the host", e.Name())
		}
	}
	if len(ents) != 2 {
		t.Errorf("pod directories: %v, want adm-ok's and adm-ssd2's only", ents)
	}
	// And it stays so: a rejected pod is not retried.
	time.Sleep(2 * time.Second)
	if p, err := cs.CoreV1().Pods("default").Get(ctx, "adm-big", metav1.GetOptions{}); err != nil || p.Status.Phase != v1.PodFailed {
		t.Errorf("adm-big later: %v %v", p.Status.Phase, err)
	}
	// A restarted agent keeps the pods it runs (admitted before, not
	// checked again) and does not run the rejected ones.
	okBefore, _ := cs.CoreV1().Pods("default").Get(ctx, "adm-ok", metav1.GetOptions{})
	a.stop()
	a.start()
	time.Sleep(5 * time.Second)
	for _, name := range []string{"adm-ok", "adm-ssd2"} {
		p := clusterWaitPod(t, cs, name, "Running", 20*time.Second, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
		if st := p.Status.ContainerStatuses; len(st) != 1 || st[0].RestartCount != 0 {
			t.Errorf("%s after the agent's restart: %+v", name, st)
		}
	}
	if okAfter, _ := cs.CoreV1().Pods("default").Get(ctx, "adm-ok", metav1.GetOptions{}); okBefore == nil || okAfter == nil ||
		len(okAfter.Status.ContainerStatuses) != 1 || okAfter.Status.ContainerStatuses[0].ContainerID != okBefore.Status.ContainerStatuses[0].ContainerID {
		t.Errorf("adm-ok's container changed across the agent's restart")
	}
	for _, name := range []string{"adm-big", "adm-ssd"} {
		if p, err := cs.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{}); err != nil || p.Status.Phase != v1.PodFailed {
			t.Errorf("%s after the agent's restart: %v %v", name, p.Status.Phase, err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(a.dataDir, "pods")); len(ents) != 2 {
		t.Errorf("pod directories after the agent's restart: %v", ents)
	}

	// A rejected (terminal) pod is deleted at once.
	s.kubectl("delete", "pod", "adm-big", "adm-ssd", "--wait=true", "--timeout=20s")
}

func agentadmitReady(n *v1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady && c.Status == v1.ConditionTrue {
			return true
		}
	}
	return false
}

// TestAgentAdmissionStatic: a static pod that does not fit the host is
// Failed with OutOfcpu in the agent's /pods and never started; removing
// its manifest removes it.
func TestAgentAdmissionStatic(t *testing.T) {
	e := agentNewEnv(t)
	e.write("big.json", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"big"},"spec":{"containers":[
	  {"name":"c","image":"busybox","imagePullPolicy":"IfNotPresent","command":["sleep","3600"],"resources":{"requests":{"cpu":"100000"}}}]}}`)
	p := e.waitPod("big-node1", "Failed", 20*time.Second, agentPhase(v1.PodFailed))
	if p.Status.Reason != "OutOfcpu" || !strings.HasPrefix(p.Status.Message, "Pod was rejected: Node didn't have enough resource: cpu, requested: 100000000, used: 0, capacity: ") {
		t.Errorf("big: reason %q message %q", p.Status.Reason, p.Status.Message)
	}
	if ents, _ := os.ReadDir(filepath.Join(e.dataDir, "pods")); len(ents) != 0 {
		t.Errorf("pod directories on the host: %v", ents)
	}
}

// TestAgentDeletedWhileDown: a pod deleted while its agent is stopped is
// finished by the next agent: its containers are stopped and the pod goes
// (the final delete is the agent's).
func TestAgentDeletedWhileDown(t *testing.T) {
	s := apiStart(t)
	cs := s.clientset()
	ctx := context.Background()
	a := clusterStartAgent(t, s, "adm-down", "")
	t.Cleanup(func() { clusterDeleteAllPods(t, s, cs) })
	clusterApply(t, s, "adm-gone", clusterPod("adm-gone", "  nodeName: adm-down\n", "Always", "busybox", "exec sleep 3600"))
	clusterWaitPod(t, cs, "adm-gone", "Running", 30*time.Second, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	a.stop()
	s.kubectl("delete", "pod", "adm-gone", "--wait=false")
	if p, err := cs.CoreV1().Pods("default").Get(ctx, "adm-gone", metav1.GetOptions{}); err != nil || p.DeletionTimestamp == nil {
		t.Fatalf("adm-gone not Terminating: %v", err)
	}
	a.start()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := cs.CoreV1().Pods("default").Get(ctx, "adm-gone", metav1.GetOptions{})
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("adm-gone still there 30 s after the agent came back")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if ents, _ := os.ReadDir(filepath.Join(a.dataDir, "pods")); len(ents) != 0 {
		t.Errorf("pod directories left: %v", ents)
	}
}
