package agent

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/peapod/peapod/internal/agent/admit"
	"github.com/peapod/peapod/internal/runtime"
)

// apiPod is a pod of the API server bound to n1 asking for cpu, created at
// the given second.
func apiPod(name, cpu string, created int) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "default", UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(time.Unix(int64(1000+created), 0)),
		},
		Spec: v1.PodSpec{NodeName: "n1", Containers: []v1.Container{{Name: "c", Image: "busybox", ImagePullPolicy: v1.PullNever}}},
	}
	if cpu != "" {
		p.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}
	}
	return p
}

func oneCPUNode(c *Config) {
	c.Node = StaticNode(admit.Node{Name: "n1", Allocatable: v1.ResourceList{
		v1.ResourceCPU: resource.MustParse("1"), v1.ResourcePods: resource.MustParse("110"),
	}})
}

func TestAdmissionRejectsWhatDoesNotFit(t *testing.T) {
	rt := newFakeRuntime()
	h := startHarnessWith(t, rt, rt, oneCPUNode)
	// Sent together: the older pod is admitted first, and counts.
	small, big, late := apiPod("small", "600m", 1), apiPod("big", "2", 2), apiPod("late", "500m", 3)
	h.send(late, big, small)
	h.waitFor("small", "Running", running("c"))
	got := h.waitFor("big", "Failed", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	if got.Status.Reason != "OutOfcpu" || got.Status.Message != "Pod was rejected: Node didn't have enough resource: cpu, requested: 2000, used: 600, capacity: 1000" {
		t.Fatalf("big: reason %q message %q", got.Status.Reason, got.Status.Message)
	}
	got = h.waitFor("late", "Failed", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	if got.Status.Message != "Pod was rejected: Node didn't have enough resource: cpu, requested: 500, used: 600, capacity: 1000" {
		t.Fatalf("late: message %q", got.Status.Message)
	}
	want := "Warning OutOfcpu : Node didn't have enough resource: cpu, requested: 2000, used: 600, capacity: 1000"
	found := false
	for _, e := range h.events.list() {
		found = found || e == want
	}
	if !found {
		t.Fatalf("no event %q in %v", want, h.events.list())
	}
	// A rejected pod is never retried, even when room appears.
	h.send(big, late)
	waitUntil(10*time.Second, func() bool { sb, _ := rt.count(); return sb == 0 })
	time.Sleep(100 * time.Millisecond)
	for _, c := range rt.callList() {
		if strings.Contains(c, "big") || strings.Contains(c, "late") {
			t.Fatalf("a rejected pod reached the runtime: %v", rt.callList())
		}
	}
	if sb, _ := rt.count(); sb != 0 {
		t.Fatalf("%d sandboxes left after small went away", sb)
	}
}

func TestAdmissionFreesTheResourcesOfFinishedPods(t *testing.T) {
	rt := newFakeRuntime()
	h := startHarnessWith(t, rt, rt, oneCPUNode)
	job := apiPod("job", "1", 1)
	job.Spec.RestartPolicy = v1.RestartPolicyNever
	h.send(job)
	h.waitFor("job", "Running", running("c"))
	if !rt.exit("c", 0) {
		t.Fatal("no container to exit")
	}
	h.waitFor("job", "Succeeded", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodSucceeded })
	next := apiPod("next", "1", 2)
	h.send(job, next)
	h.waitFor("next", "Running", running("c"))
}

func TestAdmissionKeepsPodsRunningAtRestart(t *testing.T) {
	rt := newFakeRuntime()
	ctx := context.Background()
	// A pod the previous agent admitted (on a bigger node, say) still runs.
	old := apiPod("old", "2", 1)
	d := &deps{dataDir: "/x", clusterDomain: "cluster.local"}
	sb, _ := rt.RunPodSandbox(ctx, d.sandboxConfig(old, 0))
	labels := podLabels(old)
	labels[runtime.LabelContainerName] = "c"
	cid, _ := rt.CreateContainer(ctx, sb, &runtime.ContainerConfig{Spec: old.Spec.Containers[0], Labels: labels})
	rt.StartContainer(ctx, cid)
	// And one it rejected: Failed in the API, nothing in the runtime.
	rejected := apiPod("rejected", "4", 2)
	rejected.Status = v1.PodStatus{Phase: v1.PodFailed, Reason: "OutOfcpu"}

	h := startHarnessWith(t, rt, rt, oneCPUNode)
	h.send(old, rejected)
	h.waitFor("old", "Running", running("c"))
	time.Sleep(100 * time.Millisecond)
	for _, c := range rt.callList() {
		if strings.Contains(c, "rejected") {
			t.Fatalf("a pod the API shows Failed was started: %v", rt.callList())
		}
	}
	if n, _ := rt.count(); n != 1 {
		t.Fatalf("%d sandboxes, want the adopted one only", n)
	}
}

func TestAdmissionRejectedStaticPodGoesWithItsManifest(t *testing.T) {
	rt := newFakeRuntime()
	h := startHarnessWith(t, rt, rt, oneCPUNode)
	p := staticPod(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"big"},"spec":{"containers":[
	  {"name":"c","image":"busybox","imagePullPolicy":"Never","resources":{"requests":{"cpu":"3"}}}]}}`)
	h.send(p)
	got := h.waitFor("big-n1", "Failed", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	if got.Status.Reason != "OutOfcpu" {
		t.Fatalf("reason %q", got.Status.Reason)
	}
	h.send()
	h.waitGone("big-n1")
	if strings.Contains(strings.Join(rt.callList(), " "), "run-sandbox") {
		t.Fatalf("a rejected static pod reached the runtime: %v", rt.callList())
	}
}

// terminatedLog is a StatusSink that counts final deletes.
type terminatedLog struct {
	*MemoryStatus
	mu         sync.Mutex
	terminated map[types.UID]int
}

func (l *terminatedLog) PodTerminated(pod *v1.Pod) {
	l.mu.Lock()
	l.terminated[pod.UID]++
	l.mu.Unlock()
	l.MemoryStatus.PodTerminated(pod)
}

func (l *terminatedLog) count(uid types.UID) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.terminated[uid]
}

func (l *terminatedLog) waitCount(t *testing.T, uid types.UID, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for l.count(uid) < want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := l.count(uid); got != want {
		t.Fatalf("pod %s: %d final deletes, want %d", uid, got, want)
	}
}

func deletedPod(p *v1.Pod, grace int64) *v1.Pod {
	p = p.DeepCopy()
	ts := metav1.Now()
	p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &ts, &grace
	return p
}

// TestDeletedPodsWithoutWorkerAreFinished: a pod first seen being deleted
// (deleted while the agent was down) gets its containers stopped and its
// final delete, once, even when it stays in the set (a force-deleted pod's
// tombstone).
func TestDeletedPodsWithoutWorkerAreFinished(t *testing.T) {
	rt := newFakeRuntime()
	ctx := context.Background()
	left := apiPod("left", "", 1)
	d := &deps{dataDir: "/x", clusterDomain: "cluster.local"}
	sb, _ := rt.RunPodSandbox(ctx, d.sandboxConfig(left, 0))
	labels := podLabels(left)
	labels[runtime.LabelContainerName] = "c"
	cid, _ := rt.CreateContainer(ctx, sb, &runtime.ContainerConfig{Spec: left.Spec.Containers[0], Labels: labels})
	rt.StartContainer(ctx, cid)
	// Deleted with --grace-period=1 (or 0, which the API makes 1): the
	// stop signal still gets the kubelet's 2 s minimum.
	quick := apiPod("quick", "", 3)
	qsb, _ := rt.RunPodSandbox(ctx, d.sandboxConfig(quick, 0))
	qlabels := podLabels(quick)
	qlabels[runtime.LabelContainerName] = "q"
	qspec := quick.Spec.Containers[0]
	qspec.Name = "q"
	qid, _ := rt.CreateContainer(ctx, qsb, &runtime.ContainerConfig{Spec: qspec, Labels: qlabels})
	rt.StartContainer(ctx, qid)
	never := apiPod("never", "", 2)

	log := &terminatedLog{MemoryStatus: NewMemoryStatus(), terminated: map[types.UID]int{}}
	h := startHarnessWith(t, rt, rt, func(c *Config) { oneCPUNode(c); c.Status = log })
	h.send(deletedPod(left, 7), deletedPod(never, 30), deletedPod(quick, 1))
	log.waitCount(t, left.UID, 1)
	log.waitCount(t, never.UID, 1)
	log.waitCount(t, quick.UID, 1)
	if calls := strings.Join(rt.callList(), "\n"); !strings.Contains(calls, "stop c 7s") || !strings.Contains(calls, "stop q 2s") {
		t.Errorf("the left containers were not stopped with the pods' grace (at least 2 s):\n%s", calls)
	}
	if n, c := rt.count(); n != 0 || c != 0 {
		t.Errorf("%d sandboxes, %d containers left", n, c)
	}
	// Still in the set: nothing more happens.
	h.send(deletedPod(left, 7), deletedPod(never, 30))
	time.Sleep(100 * time.Millisecond)
	if log.count(left.UID) != 1 || log.count(never.UID) != 1 {
		t.Errorf("final deletes repeated: %v", log.terminated)
	}
}
