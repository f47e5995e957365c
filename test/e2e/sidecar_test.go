package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestSidecars: init containers with restartPolicy Always, through
// kubectl, as in Kubernetes (SEMANTICS.md §1–2). The sidecar starts first
// and the next init container waits for its startup probe; it keeps
// running next to the app, counts in READY, restarts when it exits even
// under restartPolicy Never; on deletion it gets SIGTERM only after the app
// container has stopped. A Job-like pod whose app exits 0 ends Succeeded
// although its sidecar never exits.
func TestSidecars(t *testing.T) {
	s, cs := serverWithAgentStart(t, "ppsc", "sc-node")
	out := t.TempDir()
	ctx := context.Background()

	clusterApply(t, s, "sc", `apiVersion: v1
kind: Pod
metadata: {name: sc}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 20
  initContainers:
  - name: log
    image: busybox
    imagePullPolicy: IfNotPresent
    restartPolicy: Always
    command: ["sh", "-c", "trap 'echo log >> /out/order; exit 0' TERM; sleep 1; echo up > /shared/up; while true; do sleep 0.1; done"]
    startupProbe: {exec: {command: [cat, /shared/up]}, periodSeconds: 1, failureThreshold: 30}
    readinessProbe: {exec: {command: ["true"]}, periodSeconds: 1}
    volumeMounts: [{name: shared, mountPath: /shared}, {name: out, mountPath: /out}]
  - name: wait
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["cat", "/shared/up"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "trap 'sleep 2; echo app >> /out/order; exit 0' TERM; while true; do sleep 0.1; done"]
    volumeMounts: [{name: out, mountPath: /out}]
  volumes:
  - {name: shared, emptyDir: {}}
  - {name: out, hostPath: {path: `+out+`, type: Directory}}
`)
	ready := func(p *v1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodReady {
				return c.Status == v1.ConditionTrue
			}
		}
		return false
	}
	p := clusterWaitPod(t, cs, "sc", "Ready", 60*time.Second, ready)
	if len(p.Status.InitContainerStatuses) != 2 {
		t.Fatalf("init statuses %+v", p.Status.InitContainerStatuses)
	}
	side, wait := p.Status.InitContainerStatuses[0], p.Status.InitContainerStatuses[1]
	if side.State.Running == nil || side.Started == nil || !*side.Started || !side.Ready {
		t.Errorf("sidecar status %+v", side)
	}
	// The init container ran only once the sidecar had started: it read
	// the file the sidecar wrote a second after its start.
	if wait.State.Terminated == nil || wait.State.Terminated.ExitCode != 0 || !wait.State.Terminated.StartedAt.After(side.State.Running.StartedAt.Time) {
		t.Errorf("init container after the sidecar: %+v (sidecar %+v)", wait.State, side.State)
	}
	if got := s.kubectl("get", "pod", "sc", "--no-headers"); !strings.Contains(got, " 2/2 ") || !strings.Contains(got, "Running") {
		t.Errorf("kubectl get: %q", got)
	}

	// The sidecar exits: restarted, though the pod's policy is Never.
	s.kubectl("exec", "sc", "-c", "log", "--", "kill", "1")
	p = clusterWaitPod(t, cs, "sc", "sidecar restarted", 60*time.Second, func(p *v1.Pod) bool {
		st := p.Status.InitContainerStatuses[0]
		return st.RestartCount == 1 && st.State.Running != nil && ready(p)
	})
	if p.Status.Phase != v1.PodRunning || p.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Errorf("after the sidecar's restart: %s %+v", p.Status.Phase, p.Status.ContainerStatuses[0])
	}

	// Deletion: the app first (its TERM handler takes 2 s), the sidecar after.
	os.Remove(filepath.Join(out, "order")) // the sidecar's first exit wrote it
	start := time.Now()
	s.kubectl("delete", "pod", "sc", "--wait=false")
	for {
		_, err := cs.CoreV1().Pods("default").Get(ctx, "sc", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Since(start) > 40*time.Second {
			t.Fatalf("sc not gone after 40 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if b, err := os.ReadFile(filepath.Join(out, "order")); err != nil || string(b) != "app\nlog\n" {
		t.Errorf("stop order %q (%v), want the app, then the sidecar", b, err)
	}
	t.Logf("deletion: app (2 s TERM handler), then the sidecar; gone after %v", time.Since(start))

	// A Job-like pod: the app's exit 0 ends it; the sidecar is stopped.
	clusterApply(t, s, "job", `apiVersion: v1
kind: Pod
metadata: {name: job}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 5
  initContainers:
  - name: proxy
    image: busybox
    imagePullPolicy: IfNotPresent
    restartPolicy: Always
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
  containers:
  - name: work
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "sleep 1; echo done"]
`)
	p = clusterWaitPod(t, cs, "job", "Succeeded", 60*time.Second, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodSucceeded })
	if st := p.Status.InitContainerStatuses[0]; st.State.Terminated == nil {
		t.Errorf("the sidecar of a finished pod: %+v", st.State)
	}
	if got := s.kubectl("get", "pod", "job", "--no-headers"); !strings.Contains(got, "Completed") {
		t.Errorf("kubectl get: %q", got)
	}
}
