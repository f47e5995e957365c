package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/peapod/peapod/internal/agent/plan"
	"github.com/peapod/peapod/internal/agent/volume"
	"github.com/peapod/peapod/internal/runtime"
)

type harness struct {
	t       *testing.T
	rt      *fakeRuntime
	status  *MemoryStatus
	updates chan []*v1.Pod
	dataDir string
	cancel  context.CancelFunc
	done    chan struct{}
	events  *eventLog
}

// eventLog records events as "reason fieldPath: message".
type eventLog struct {
	mu  sync.Mutex
	all []string
}

func (e *eventLog) Event(pod *v1.Pod, fieldPath, eventType, reason, message string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, fmt.Sprintf("%s %s %s: %s", eventType, reason, fieldPath, message))
}

func (e *eventLog) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.all...)
}

func newHarness(t *testing.T, rt *fakeRuntime) *harness { return startHarness(t, rt, rt) }

// startHarness runs a manager on r, which wraps (or is) rt.
func startHarness(t *testing.T, r Runtime, rt *fakeRuntime) *harness {
	return startHarnessWith(t, r, rt, nil)
}

// startHarnessWith is startHarness with the config changed by mut.
func startHarnessWith(t *testing.T, r Runtime, rt *fakeRuntime, mut func(*Config)) *harness {
	h := &harness{t: t, rt: rt, status: NewMemoryStatus(), updates: make(chan []*v1.Pod), dataDir: t.TempDir(), done: make(chan struct{}), events: &eventLog{}}
	cfg := Config{
		Runtime: r, Volumes: volume.NewManager(volume.DefaultPlugins()...), Status: h.status, Events: h.events,
		DataDir: h.dataDir, NodeName: "n1", HostIP: "192.0.2.1",
		Resync: 10 * time.Millisecond, Housekeeping: 20 * time.Millisecond, Logf: t.Logf,
	}
	if mut != nil {
		mut(&cfg)
	}
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { m.Run(ctx, h.updates); close(h.done) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	h.cancel()
	<-h.done
}

func (h *harness) send(pods ...*v1.Pod) { h.updates <- pods }

// waitFor polls the published status of the pod named name until cond holds.
func (h *harness) waitFor(name string, what string, cond func(*v1.Pod) bool) *v1.Pod {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var last *v1.Pod
	for time.Now().Before(deadline) {
		for _, p := range h.status.Pods() {
			if p.Name == name {
				p := p
				last = &p
				if cond(&p) {
					return &p
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.t.Fatalf("pod %s: timed out waiting for %s; last status: %+v", name, what, last)
	return nil
}

// waitUntil polls cond every 5 ms until it holds (true) or timeout
// passes (false).
func waitUntil(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// waitEvent waits until an event containing want has been recorded.
func (h *harness) waitEvent(want string) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(strings.Join(h.events.list(), "\n"), want) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.t.Fatalf("no event %q in:\n%s", want, strings.Join(h.events.list(), "\n"))
}

func (h *harness) waitGone(name string) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		found := false
		for _, p := range h.status.Pods() {
			found = found || p.Name == name
		}
		if sb, cs := h.rt.count(); !found && sb == 0 && cs == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.t.Fatalf("pod %s not gone: calls %v", name, h.rt.callList())
}

func staticPod(t *testing.T, yaml string) *v1.Pod {
	t.Helper()
	p, err := DecodeStaticPod([]byte(yaml), "/etc/manifests/"+t.Name()+".yaml", "n1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const initPodYAML = `
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  volumes: [{name: work, emptyDir: {}}]
  initContainers:
  - {name: i1, image: busybox, imagePullPolicy: IfNotPresent}
  - {name: i2, image: busybox, imagePullPolicy: IfNotPresent}
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    volumeMounts: [{name: work, mountPath: /work}]
    env:
    - {name: PLAIN, value: x}
    - name: POD
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    - name: NODE
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
`

func running(name string) func(*v1.Pod) bool {
	return func(p *v1.Pod) bool {
		for _, c := range p.Status.ContainerStatuses {
			if c.Name == name && c.State.Running != nil {
				return true
			}
		}
		for _, c := range p.Status.InitContainerStatuses {
			if c.Name == name && c.State.Running != nil {
				return true
			}
		}
		return false
	}
}

func TestWorkerRunsInitContainersInOrderThenApps(t *testing.T) {
	rt := newFakeRuntime()
	h := newHarness(t, rt)
	pod := staticPod(t, initPodYAML)
	h.send(pod)

	h.waitFor("web-n1", "i1 running", running("i1"))
	if !rt.exit("i1", 0) {
		t.Fatal("i1 not running")
	}
	p := h.waitFor("web-n1", "i2 running", running("i2"))
	if p.Status.Phase != v1.PodPending {
		t.Fatalf("phase while initializing: %s", p.Status.Phase)
	}
	rt.exit("i2", 0)
	p = h.waitFor("web-n1", "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	if got := strings.Join(rt.callList(), ","); got != "run-sandbox web-n1,create i1#0,create i2#0,create app#0" {
		t.Fatalf("calls: %s", got)
	}
	if p.Status.PodIP != "10.1.0.2" || p.Status.HostIP != "192.0.2.1" {
		t.Fatalf("IPs: %+v", p.Status)
	}

	// env and mounts of the app container
	var cfg *runtime.ContainerConfig
	rt.mu.Lock()
	for _, c := range rt.configs {
		if c.Spec.Name == "app" {
			cfg = c
		}
	}
	rt.mu.Unlock()
	env := fmt.Sprint(cfg.Env)
	if env != "[{PLAIN x} {POD web-n1} {IP 10.1.0.2} {NODE n1}]" {
		t.Fatalf("env: %s", env)
	}
	wantVol := filepath.Join(PodDir(h.dataDir, pod), "volumes", "kubernetes.io~empty-dir", "work")
	if len(cfg.Mounts) != 1 || cfg.Mounts[0].HostPath != wantVol || cfg.Mounts[0].ContainerPath != "/work" {
		t.Fatalf("mounts: %+v", cfg.Mounts)
	}
	if cfg.Labels[runtime.LabelPodUID] != string(pod.UID) || cfg.Labels[runtime.LabelContainerName] != "app" {
		t.Fatalf("labels: %v", cfg.Labels)
	}

	// Removing the pod from the source stops it with its grace, removes
	// everything and forgets its status.
	h.send()
	h.waitGone("web-n1")
	calls := strings.Join(rt.callList(), ",")
	if !strings.Contains(calls, "stop app 30s") {
		t.Fatalf("app not stopped with the pod grace: %s", calls)
	}
	if _, err := os.Stat(PodDir(h.dataDir, pod)); !os.IsNotExist(err) {
		t.Fatalf("pod dir left: %v", err)
	}
}

func TestWorkerRestartPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy    string
		code      int32
		wantPhase v1.PodPhase
		restarted bool
	}{
		{"Never", 0, v1.PodSucceeded, false},
		{"Never", 1, v1.PodFailed, false},
		{"OnFailure", 0, v1.PodSucceeded, false},
		{"OnFailure", 1, v1.PodRunning, true},
		{"Always", 0, v1.PodRunning, true},
	} {
		t.Run(fmt.Sprintf("%s-exit%d", tc.policy, tc.code), func(t *testing.T) {
			rt := newFakeRuntime()
			h := newHarness(t, rt)
			h.send(staticPod(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"job"},"spec":{"restartPolicy":"`+tc.policy+`","volumes":[{"name":"v","emptyDir":{}}],"containers":[{"name":"c","image":"busybox","imagePullPolicy":"Never","volumeMounts":[{"name":"v","mountPath":"/v"}]}]}}`))
			h.waitFor("job-n1", "running", running("c"))
			rt.exit("c", tc.code)
			if tc.restarted {
				p := h.waitFor("job-n1", "restart", func(p *v1.Pod) bool {
					return p.Status.ContainerStatuses[0].RestartCount == 1 && p.Status.ContainerStatuses[0].State.Running != nil
				})
				if p.Status.Phase != tc.wantPhase || p.Status.ContainerStatuses[0].LastTerminationState.Terminated.ExitCode != tc.code {
					t.Fatalf("status %+v", p.Status)
				}
				// A second exit within the window is held: CrashLoopBackOff.
				rt.exit("c", tc.code)
				h.waitFor("job-n1", "CrashLoopBackOff", func(p *v1.Pod) bool {
					w := p.Status.ContainerStatuses[0].State.Waiting
					return w != nil && w.Reason == plan.ReasonCrashLoopBackOff &&
						strings.HasPrefix(w.Message, "back-off 10s restarting failed container=c pod=job-n1_default(")
				})
				return
			}
			p := h.waitFor("job-n1", string(tc.wantPhase), func(p *v1.Pod) bool { return p.Status.Phase == tc.wantPhase })
			if t := p.Status.ContainerStatuses[0].State.Terminated; t == nil || t.ExitCode != tc.code {
				panic(fmt.Sprintf("state %+v", p.Status.ContainerStatuses[0].State))
			}
			// A finished pod gives its volumes back.
			deadline := time.Now().Add(5 * time.Second)
			for {
				if _, err := os.Stat(filepath.Join(PodDir(h.dataDir, p), "volumes")); os.IsNotExist(err) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("volumes of a finished pod not released")
				}
				time.Sleep(5 * time.Millisecond)
			}
			// The sandbox is stopped, nothing restarts.
			time.Sleep(50 * time.Millisecond)
			if strings.Count(strings.Join(rt.callList(), ","), "create c") != 1 {
				t.Fatalf("restarted: %v", rt.callList())
			}
			if !strings.Contains(strings.Join(rt.callList(), ","), "stop-sandbox") {
				t.Fatalf("sandbox not stopped: %v", rt.callList())
			}
		})
	}
}

func TestWorkerFailedInitUnderNeverFailsThePod(t *testing.T) {
	rt := newFakeRuntime()
	h := newHarness(t, rt)
	h.send(staticPod(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"restartPolicy":"Never",
	"initContainers":[{"name":"i","image":"busybox","imagePullPolicy":"Never"}],"containers":[{"name":"c","image":"busybox","imagePullPolicy":"Never"}]}}`))
	h.waitFor("p-n1", "init running", running("i"))
	rt.exit("i", 3)
	p := h.waitFor("p-n1", "Failed", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	if w := p.Status.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != plan.ReasonPodInitializing {
		t.Fatalf("app state %+v", p.Status.ContainerStatuses[0].State)
	}
	time.Sleep(50 * time.Millisecond)
	if strings.Contains(strings.Join(rt.callList(), ","), "create c") {
		t.Fatal("app container started after a failed init container")
	}
}

func TestWorkerImageErrors(t *testing.T) {
	rt := newFakeRuntime()
	h := newHarness(t, rt)
	h.send(
		staticPod(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"pull"},"spec":{"containers":[{"name":"c","image":"nope:1"}]}}`),
		staticPod(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"never"},"spec":{"containers":[{"name":"c","image":"nope:2","imagePullPolicy":"Never"}]}}`),
	)
	p := h.waitFor("pull-n1", "ErrImagePull", func(p *v1.Pod) bool {
		w := p.Status.ContainerStatuses[0].State.Waiting
		return w != nil && (w.Reason == plan.ReasonErrImagePull || w.Reason == plan.ReasonImagePullBackOff)
	})
	if p.Status.Phase != v1.PodPending {
		t.Fatalf("phase %s", p.Status.Phase)
	}
	h.waitFor("pull-n1", "ImagePullBackOff", func(p *v1.Pod) bool {
		w := p.Status.ContainerStatuses[0].State.Waiting
		return w != nil && w.Reason == plan.ReasonImagePullBackOff && strings.HasPrefix(w.Message, `Back-off pulling image "nope:1": ErrImagePull: Failed to pull image "nope:1": `)
	})
	h.waitFor("never-n1", "ErrImageNeverPull", func(p *v1.Pod) bool {
		w := p.Status.ContainerStatuses[0].State.Waiting
		return w != nil && w.Reason == plan.ReasonErrImageNeverPull &&
			w.Message == `Container image "nope:2" is not present with pull policy of Never`
	})
	if n := strings.Count(strings.Join(rt.callList(), ","), "pull nope:1"); n != 1 {
		t.Fatalf("pulled %d times inside the back-off window", n)
	}
}

func TestWorkerCreateError(t *testing.T) {
	rt := newFakeRuntime()
	rt.createErr["c"] = fmt.Errorf(`runc create failed: exec: "nope": executable file not found in $PATH`)
	h := newHarness(t, rt)
	h.send(staticPod(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"busybox","imagePullPolicy":"Never"}]}}`))
	h.waitFor("p-n1", "CreateContainerError", func(p *v1.Pod) bool {
		w := p.Status.ContainerStatuses[0].State.Waiting
		return w != nil && w.Reason == plan.ReasonCreateContainerError && strings.Contains(w.Message, "executable file not found")
	})
}

func TestManagerAdoptsRunningPodsAndRemovesOrphans(t *testing.T) {
	rt := newFakeRuntime()
	pod := staticPod(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"busybox","imagePullPolicy":"Never"}]}}`)
	ctx := context.Background()
	d := &deps{dataDir: "/x", clusterDomain: "cluster.local"}
	// A running pod from a previous agent, and an orphan.
	sb, _ := rt.RunPodSandbox(ctx, d.sandboxConfig(pod, 0))
	labels := podLabels(pod)
	labels[runtime.LabelContainerName] = "c"
	cid, _ := rt.CreateContainer(ctx, sb, &runtime.ContainerConfig{Spec: pod.Spec.Containers[0], Attempt: 3, Labels: labels})
	rt.StartContainer(ctx, cid)
	orphan := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "gone", Namespace: "default", UID: "old"}}
	osb, _ := rt.RunPodSandbox(ctx, d.sandboxConfig(orphan, 0))
	ol := podLabels(orphan)
	ol[runtime.LabelContainerName] = "x"
	ocid, _ := rt.CreateContainer(ctx, osb, &runtime.ContainerConfig{Spec: v1.Container{Name: "x"}, Labels: ol})
	rt.StartContainer(ctx, ocid)
	// A container left without its sandbox.
	stray := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "stray", Namespace: "default", UID: "stray-uid"}}
	sl := podLabels(stray)
	sl[runtime.LabelContainerName] = "s"
	rt.CreateContainer(ctx, "gone-sandbox", &runtime.ContainerConfig{Spec: v1.Container{Name: "s"}, Labels: sl})
	before := len(rt.callList())

	h := newHarness(t, rt)
	os.MkdirAll(filepath.Join(h.dataDir, "pods", "default_stale_uid9", "c"), 0o755)
	h.send(pod)
	p := h.waitFor("p-n1", "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	if rc := p.Status.ContainerStatuses[0].RestartCount; rc != 3 {
		t.Fatalf("restartCount %d, want the adopted attempt 3", rc)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n, c := rt.count(); n == 1 && c == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("orphan not removed: %v", rt.callList())
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, c := range rt.callList()[before:] {
		if strings.HasPrefix(c, "create") || strings.HasPrefix(c, "run-sandbox") || c == "stop c 30s" {
			t.Fatalf("adopted pod touched: %v", rt.callList()[before:])
		}
	}
	// Housekeeping removes it, on its own period.
	if !waitUntil(5*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(h.dataDir, "pods", "default_stale_uid9"))
		return os.IsNotExist(err)
	}) {
		t.Fatal("stale pod dir not removed")
	}
}

func TestManagerStopsLeavingContainersRunning(t *testing.T) {
	rt := newFakeRuntime()
	h := newHarness(t, rt)
	h.send(staticPod(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"busybox","imagePullPolicy":"Never"}]}}`))
	h.waitFor("p-n1", "running", running("c"))
	h.stop()
	for _, c := range rt.callList() {
		if strings.HasPrefix(c, "stop") {
			t.Fatalf("stopping the agent stopped containers: %v", rt.callList())
		}
	}
}

func TestChangedManifestReplacesThePod(t *testing.T) {
	rt := newFakeRuntime()
	h := newHarness(t, rt)
	a := staticPod(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"busybox","imagePullPolicy":"Never"}]}}`)
	b := staticPod(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"d","image":"busybox","imagePullPolicy":"Never"}]}}`)
	if a.UID == b.UID {
		t.Fatal("different content, same UID")
	}
	h.send(a)
	h.waitFor("p-n1", "c running", running("c"))
	h.send(b)
	h.waitFor("p-n1", "d running", running("d"))
	calls := strings.Join(rt.callList(), ",")
	if strings.Index(calls, "stop c") > strings.Index(calls, "create d") {
		t.Fatalf("new pod started before the old one stopped: %s", calls)
	}
}

func TestWorkerRecoversAttemptsFromLogFiles(t *testing.T) {
	rt := newFakeRuntime()
	h := newHarness(t, rt)
	pod := staticPod(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"busybox","imagePullPolicy":"Never"}]}}`)
	logDir := filepath.Join(PodDir(h.dataDir, pod), "c")
	os.MkdirAll(logDir, 0o755)
	os.WriteFile(filepath.Join(logDir, "4.log"), nil, 0o644)
	h.send(pod)
	p := h.waitFor("p-n1", "running", running("c"))
	if rc := p.Status.ContainerStatuses[0].RestartCount; rc != 5 {
		t.Fatalf("restartCount %d, want 5 (after 4.log)", rc)
	}
}

func TestWorkerEvents(t *testing.T) {
	rt := newFakeRuntime()
	rt.pullable["busybox:2"] = true
	h := newHarness(t, rt)
	h.send(staticPod(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"terminationGracePeriodSeconds":3,
	"initContainers":[{"name":"i","image":"busybox","imagePullPolicy":"IfNotPresent"}],"containers":[{"name":"c","image":"busybox:2","imagePullPolicy":"Always"}]}}`))
	h.waitFor("p-n1", "i running", running("i"))
	rt.exit("i", 0)
	h.waitFor("p-n1", "c running", running("c"))
	rt.exit("c", 1)
	h.waitFor("p-n1", "restart", func(p *v1.Pod) bool { return p.Status.ContainerStatuses[0].RestartCount == 1 && running("c")(p) })
	rt.exit("c", 1)
	h.waitFor("p-n1", "CrashLoopBackOff", func(p *v1.Pod) bool {
		w := p.Status.ContainerStatuses[0].State.Waiting
		return w != nil && w.Reason == plan.ReasonCrashLoopBackOff
	})
	h.send()
	h.waitGone("p-n1")
	got := strings.Join(h.events.list(), "\n")
	for _, want := range []string{
		`Normal Pulled spec.initContainers{i}: Container image "busybox" already present on machine`,
		`Normal Created spec.initContainers{i}: Created container: i`,
		`Normal Started spec.initContainers{i}: Started container i`,
		`Normal Pulling spec.containers{c}: Pulling image "busybox:2"`,
		`Normal Pulled spec.containers{c}: Successfully pulled image "busybox:2" in `,
		`Normal Started spec.containers{c}: Started container c`,
		`Warning BackOff spec.containers{c}: Back-off restarting failed container c in pod p-n1_default(`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing event %q in:\n%s", want, got)
		}
	}
}

func TestWorkerAlwaysPullOfflineUsesThePresentImage(t *testing.T) {
	rt := newFakeRuntime()
	rt.offline = true
	h := newHarness(t, rt)
	h.send(
		staticPod(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`),
		staticPod(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"q"},"spec":{"containers":[{"name":"c","image":"absent"}]}}`),
	)
	p := h.waitFor("p-n1", "running", running("c"))
	if p.Spec.Containers[0].ImagePullPolicy != v1.PullAlways {
		t.Fatalf("policy %s", p.Spec.Containers[0].ImagePullPolicy)
	}
	h.waitFor("q-n1", "ErrImagePull", func(p *v1.Pod) bool {
		w := p.Status.ContainerStatuses[0].State.Waiting
		return w != nil && (w.Reason == plan.ReasonErrImagePull || w.Reason == plan.ReasonImagePullBackOff)
	})
	if got := strings.Join(h.events.list(), "\n"); !strings.Contains(got, "the registry is unreachable, using the image present on the node") {
		t.Fatalf("no warning event:\n%s", got)
	}
}

func TestSetDesiredWakesOnlyChangedPods(t *testing.T) {
	a := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "default", UID: "ua", ResourceVersion: "1"}}
	b := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "default", UID: "ub", ResourceVersion: "1"}}
	m := &Manager{d: &deps{}, desired: map[types.UID]*v1.Pod{}, workers: map[types.UID]*worker{}}
	wa, wb := newWorker(m.d, a, false), newWorker(m.d, b, false)
	m.workers[a.UID], m.workers[b.UID] = wa, wb
	woken := func(w *worker) bool {
		select {
		case <-w.nudge:
			return true
		default:
			return false
		}
	}

	// b's status and resource version changed (the agent's own write), a's labels.
	a2, b2 := a.DeepCopy(), b.DeepCopy()
	a2.Labels = map[string]string{"k": "v"}
	a2.ResourceVersion = "2"
	b2.ResourceVersion = "2"
	b2.Status.Phase = v1.PodRunning
	m.setDesired(context.Background(), []*v1.Pod{a2, b2})
	if !woken(wa) || wa.current() != a2 {
		t.Fatal("the worker of the changed pod was not woken with the new pod")
	}
	if woken(wb) {
		t.Fatal("the worker of an unchanged pod was woken")
	}
}

// TestReadinessGateSetLater: a pod with a readiness gate is Ready once a
// controller sets the gate's condition True in the API, however late: the
// condition comes from the API's copy of the pod, and a change of it
// wakes the worker.
func TestReadinessGateSetLater(t *testing.T) {
	h := newHarness(t, newFakeRuntime())
	gate := v1.PodConditionType("example.com/lb-ready")
	pod := apiPod("p", "", 1)
	pod.Spec.ReadinessGates = []v1.PodReadinessGate{{ConditionType: gate}}
	h.send(pod)
	h.waitFor("p", "running, not ready (gate unset)", func(p *v1.Pod) bool {
		return running("c")(p) && p.Status.ContainerStatuses[0].Ready && !podConditionTrue(p, v1.PodReady)
	})
	gated := pod.DeepCopy()
	gated.ResourceVersion = "2"
	gated.Status.Conditions = []v1.PodCondition{{Type: gate, Status: v1.ConditionTrue}}
	h.send(gated)
	h.waitFor("p", "ready once the gate is True", func(p *v1.Pod) bool { return podConditionTrue(p, v1.PodReady) })
}
