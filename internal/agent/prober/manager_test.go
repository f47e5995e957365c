package prober

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

type events struct {
	mu   sync.Mutex
	msgs []string
}

func (e *events) Event(_ *v1.Pod, fp, typ, reason, msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.msgs = append(e.msgs, fp+" "+typ+" "+reason+" "+msg)
}

func TestManagerPublishesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ev := &events{}
	m := NewManager(Config{Exec: fakeExec{}, Results: NewResults(), Events: ev})
	pod := &v1.Pod{}
	pod.UID = "u1"
	exec := func(cmd string) *v1.Probe {
		return &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{cmd}}}, PeriodSeconds: 1, FailureThreshold: 1}
	}
	pod.Spec.Containers = []v1.Container{{Name: "a", LivenessProbe: exec("false"), ReadinessProbe: exec("true")}}
	m.Sync(ctx, pod, []Container{{ID: "c1", Name: "a", Running: true, StartedAt: time.Now()}}, Target{})

	want := map[Kind]Result{Liveness: Failure, Readiness: Success}
	got := map[Kind]Result{}
	deadline := time.After(5 * time.Second)
	for len(got) < 2 || got[Liveness] != Failure || got[Readiness] != Success {
		select {
		case u := <-m.Results().Updates():
			if u.PodUID != "u1" || u.ContainerID != "c1" {
				t.Fatalf("update %+v", u)
			}
			got[u.Kind] = u.Result
		case <-deadline:
			t.Fatalf("results %v, want %v", got, want)
		}
	}
	r, s, l, sf := m.Observed([]string{"c1"})
	if !r["c1"] || len(s) != 0 || l["c1"] || len(l) != 1 || len(sf) != 0 {
		t.Fatalf("observed %v %v %v %v", r, s, l, sf)
	}
	ev.mu.Lock()
	if len(ev.msgs) == 0 || ev.msgs[0] != "spec.containers{a} Warning Unhealthy Liveness probe failed: cat: can't open '/tmp/healthy'" {
		t.Fatalf("events %q", ev.msgs)
	}
	ev.mu.Unlock()

	// The container is gone: workers stop, results are forgotten.
	m.Sync(ctx, pod, nil, Target{})
	if _, ok := m.Results().Get(Readiness, "c1"); ok {
		t.Fatalf("result kept for a gone container")
	}
	cancel()
	m.Wait()
}

func TestWorkerJitterOnlyForContainersFoundRunning(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewManager(Config{Exec: nil, Results: NewResults(), Now: func() time.Time { return start },
		Jitter: func(period time.Duration) time.Duration { return period / 2 }})
	w := &worker{m: m}
	p := &v1.Probe{PeriodSeconds: 10}
	if d := w.jitter(Container{StartedAt: start.Add(-time.Hour)}, p); d != 5*time.Second {
		t.Errorf("container running before the agent started: %v, want 5s", d)
	}
	if d := w.jitter(Container{StartedAt: start.Add(time.Second)}, p); d != 0 {
		t.Errorf("container started after the agent: %v, want none", d)
	}
	// The default: the kubelet's StartJitter, within [0, period) in the first period.
	m = NewManager(Config{Results: NewResults()})
	w = &worker{m: m}
	for i := 0; i < 20; i++ {
		if d := w.jitter(Container{}, p); d < 0 || d >= 10*time.Second {
			t.Fatalf("default jitter %v", d)
		}
	}
}

func TestManagerProbeWarning(t *testing.T) {
	srv := newProbeServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ev := &events{}
	m := NewManager(Config{Exec: fakeExec{}, Results: NewResults(), Events: ev})
	defer m.Wait()
	defer cancel()
	pod := &v1.Pod{}
	pod.UID = "u1"
	probe := &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/away", Port: intstr.FromInt32(int32(srv.port(t)))}}, PeriodSeconds: 1}
	pod.Spec.Containers = []v1.Container{{Name: "a", ReadinessProbe: probe}}
	m.Sync(ctx, pod, []Container{{ID: "c1", Name: "a", Running: true, StartedAt: time.Now()}}, Target{PodIP: "127.0.0.1"})
	deadline := time.After(5 * time.Second)
	for r, _ := m.Results().Get(Readiness, "c1"); r != Success; r, _ = m.Results().Get(Readiness, "c1") {
		select {
		case <-m.Results().Updates():
		case <-deadline:
			t.Fatalf("readiness %v", r)
		}
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if len(ev.msgs) == 0 || !strings.HasPrefix(ev.msgs[0], "spec.containers{a} Warning ProbeWarning Readiness probe warning: Probe terminated redirects, Response body: <a href=") {
		t.Fatalf("events %q", ev.msgs)
	}
}

// Sidecars are probed; regular init containers never are (a static pod
// could carry a probe there), as in the kubelet.
func TestContainerSpecProbesSidecarsOnly(t *testing.T) {
	always := v1.ContainerRestartPolicyAlways
	pod := &v1.Pod{Spec: v1.PodSpec{
		InitContainers: []v1.Container{{Name: "init"}, {Name: "side", RestartPolicy: &always}},
		Containers:     []v1.Container{{Name: "app"}},
	}}
	if containerSpec(pod, "app") == nil || containerSpec(pod, "side") == nil || containerSpec(pod, "init") != nil {
		t.Fatal("containerSpec")
	}
}
