package prober

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/peapod/peapod/internal/runtime"
)

// execFunc is an Execer made of a function.
type execFunc func(ctx context.Context, id string, cmd []string, timeout time.Duration) (*runtime.ExecResult, error)

func (f execFunc) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (*runtime.ExecResult, error) {
	return f(ctx, id, cmd, timeout)
}

func execProbe(cmd ...string) *v1.Probe {
	return &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: cmd}}}
}

// The kubelet's runProbe expands $(VAR) in an exec probe's command with
// ExpandContainerCommandOnlyStatic: the static env values as written.
func TestRunExpandsExecCommand(t *testing.T) {
	var got []string
	ex := execFunc(func(_ context.Context, _ string, cmd []string, _ time.Duration) (*runtime.ExecResult, error) {
		got = cmd
		return &runtime.ExecResult{}, nil
	})
	c := &v1.Container{Name: "c", Env: []v1.EnvVar{
		{Name: "PORT", Value: "8080"},
		{Name: "REF", Value: "$(PORT)x"}, // values are not expanded themselves
		{Name: "FROM", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "TWICE", Value: "first"},
		{Name: "TWICE", Value: "second"}, // the last definition wins
	}}
	p := execProbe("check", "--port=$(PORT)", "$(REF)", "[$(FROM)]", "$(NOPE)", "$$(PORT)", "$(TWICE)", "$(PORT", "50$")
	if r, out, err := Run(context.Background(), ex, p, c, "c1", Target{}); r != Success || err != nil {
		t.Fatalf("run: %v %q %v", r, out, err)
	}
	want := []string{"check", "--port=8080", "$(PORT)x", "[]", "$(NOPE)", "$(PORT)", "second", "$(PORT", "50$"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("command %q, want %q", got, want)
	}
	// The probe spec is not modified.
	if p.Exec.Command[1] != "--port=$(PORT)" {
		t.Fatalf("spec changed: %q", p.Exec.Command)
	}
}

// The kubelet keeps the first 10 KiB of stdout followed by stderr.
func TestExecOutputLimit(t *testing.T) {
	stdout, stderr := strings.Repeat("o", 8<<10), strings.Repeat("e", 8<<10)
	for _, code := range []int{0, 1} {
		ex := execFunc(func(context.Context, string, []string, time.Duration) (*runtime.ExecResult, error) {
			return &runtime.ExecResult{Stdout: []byte(stdout), Stderr: []byte(stderr), ExitCode: code}, nil
		})
		_, out := Exec(context.Background(), ex, "c1", []string{"chatty"}, time.Second)
		if want := stdout + stderr[:2<<10]; out != want {
			t.Errorf("exit %d: %d bytes (%q…), want %d bytes of stdout then stderr", code, len(out), out[len(out)-8:], len(want))
		}
	}
	ex := execFunc(func(context.Context, string, []string, time.Duration) (*runtime.ExecResult, error) {
		return &runtime.ExecResult{Stdout: []byte("short "), Stderr: []byte("err")}, nil
	})
	if _, out := Exec(context.Background(), ex, "c1", []string{"x"}, time.Second); out != "short err" {
		t.Errorf("short output %q", out)
	}
}

// A name the container does not declare gets the kubelet's (1.33)
// message: probe.ResolveContainerPort falls back to strconv.Atoi and
// reports its error.
func TestResolvePortMessages(t *testing.T) {
	c := &v1.Container{Name: "c", Ports: []v1.ContainerPort{{Name: "http", ContainerPort: 8080}}}
	for _, tc := range []struct {
		p    intstr.IntOrString
		c    *v1.Container
		want string
	}{
		{intstr.FromString("metrics"), c, `strconv.Atoi: parsing "metrics": invalid syntax`},
		{intstr.FromString("metrics"), nil, `strconv.Atoi: parsing "metrics": invalid syntax`},
		{intstr.FromString("0"), c, "invalid port number: 0"},
		{intstr.FromString("70000"), c, "invalid port number: 70000"},
		{intstr.FromInt32(-1), c, "invalid port number: -1"},
	} {
		if _, err := ResolvePort(tc.p, tc.c); err == nil || err.Error() != tc.want {
			t.Errorf("%s: %v, want %q", tc.p.String(), err, tc.want)
		}
	}
	tcp := &v1.Probe{ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromString("metrics")}}}
	if r, out, err := Run(context.Background(), nil, tcp, c, "c1", Target{}); r != Unknown || out != `strconv.Atoi: parsing "metrics": invalid syntax` || err == nil {
		t.Errorf("tcp: %v %q %v", r, out, err)
	}
}

// counting is an Execer that answers from results in turn (the last one
// repeats) and counts its calls.
type counting struct {
	mu       sync.Mutex
	calls    int
	timeouts []time.Duration
	answer   func(call int) (*runtime.ExecResult, error)
}

func (c *counting) ExecSync(_ context.Context, _ string, _ []string, timeout time.Duration) (*runtime.ExecResult, error) {
	c.mu.Lock()
	c.calls++
	n := c.calls
	c.timeouts = append(c.timeouts, timeout)
	c.mu.Unlock()
	return c.answer(n)
}

func (c *counting) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// readinessPod is a pod with one container whose readiness probe execs
// "check" and (a long period) runs only once in a test.
func readinessPod() *v1.Pod {
	pod := &v1.Pod{}
	pod.UID = "u1"
	p := execProbe("check")
	p.PeriodSeconds, p.TimeoutSeconds = 3600, 2
	pod.Spec.Containers = []v1.Container{{Name: "a", ReadinessProbe: p}}
	return pod
}

// noJitter starts every worker's probes at once (a container started in
// the manager's first instant would otherwise get the restart jitter).
func noJitter(time.Duration) time.Duration { return 0 }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A probe that errored is run again, up to three times in all, each with
// its own timeout (kubelet runProbeWithRetries); a success among the
// retries counts.
func TestWorkerRetriesErroredProbe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ex := &counting{answer: func(n int) (*runtime.ExecResult, error) {
		if n < 3 {
			return nil, errors.New("exec: transient")
		}
		return &runtime.ExecResult{}, nil
	}}
	ev := &events{}
	m := NewManager(Config{Exec: ex, Results: NewResults(), Events: ev, Jitter: noJitter})
	defer m.Wait()
	defer cancel()
	m.Sync(ctx, readinessPod(), []Container{{ID: "c1", Name: "a", Running: true, StartedAt: time.Now()}}, Target{})
	waitFor(t, "readiness Success", func() bool { r, _ := m.Results().Get(Readiness, "c1"); return r == Success })
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if ex.calls != 3 || ex.timeouts[0] != 2*time.Second || ex.timeouts[1] != 2*time.Second || ex.timeouts[2] != 2*time.Second {
		t.Fatalf("%d calls, timeouts %v", ex.calls, ex.timeouts)
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if len(ev.msgs) != 0 {
		t.Fatalf("events %q", ev.msgs)
	}
}

// After three errors the probe is unknown: one event with the last error.
func TestWorkerReportsErrorAfterRetries(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ex := &counting{answer: func(n int) (*runtime.ExecResult, error) {
		return nil, fmt.Errorf("exec: attempt %d failed", n)
	}}
	ev := &events{}
	m := NewManager(Config{Exec: ex, Results: NewResults(), Events: ev, Jitter: noJitter})
	defer m.Wait()
	defer cancel()
	m.Sync(ctx, readinessPod(), []Container{{ID: "c1", Name: "a", Running: true, StartedAt: time.Now()}}, Target{})
	waitFor(t, "the event", func() bool { ev.mu.Lock(); defer ev.mu.Unlock(); return len(ev.msgs) > 0 })
	time.Sleep(50 * time.Millisecond)
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if n := ex.count(); n != 3 || len(ev.msgs) != 1 ||
		ev.msgs[0] != "spec.containers{a} Warning Unhealthy Readiness probe errored and resulted in unknown state: exec: attempt 3 failed" {
		t.Fatalf("%d calls, events %q", n, ev.msgs)
	}
	if r, _ := m.Results().Get(Readiness, "c1"); r != Failure {
		t.Fatalf("readiness %v, want the initial Failure", r)
	}
}

// Errors are not retried when the container is gone or not running, nor
// once the worker is stopped: another attempt could not succeed and would
// only hold up the worker's exit.
func TestWorkerDoesNotRetryHopelessErrors(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("container %q: %w", "c1", runtime.ErrNotFound),
		fmt.Errorf("container %q is exited, not running: %w", "c1", runtime.ErrInvalidState),
	} {
		ctx, cancel := context.WithCancel(context.Background())
		ex := &counting{answer: func(int) (*runtime.ExecResult, error) { return nil, err }}
		ev := &events{}
		m := NewManager(Config{Exec: ex, Results: NewResults(), Events: ev, Jitter: noJitter})
		m.Sync(ctx, readinessPod(), []Container{{ID: "c1", Name: "a", Running: true, StartedAt: time.Now()}}, Target{})
		waitFor(t, "the event", func() bool { ev.mu.Lock(); defer ev.mu.Unlock(); return len(ev.msgs) > 0 })
		if n := ex.count(); n != 1 {
			t.Errorf("%v: %d calls, want 1", err, n)
		}
		cancel()
		m.Wait()
	}

	// Stopped while the first attempt runs: no second one.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	ex := &counting{answer: func(int) (*runtime.ExecResult, error) {
		<-release
		return nil, errors.New("exec: transient")
	}}
	m := NewManager(Config{Exec: ex, Results: NewResults(), Jitter: noJitter})
	pod := readinessPod()
	m.Sync(ctx, pod, []Container{{ID: "c1", Name: "a", Running: true, StartedAt: time.Now()}}, Target{})
	waitFor(t, "the first attempt", func() bool { return ex.count() == 1 })
	m.RemovePod(pod.UID)
	close(release)
	m.Wait() // the worker ends without the context being cancelled
	if n := ex.count(); n != 1 {
		t.Fatalf("%d calls after the worker was stopped, want 1", n)
	}
}

// Right after the startup probe succeeds the readiness probe runs, not at
// its next period (kubelet prober_manager.go UpdatePodStatus ->
// manualTriggerCh).
func TestReadinessRunsRightAfterStartup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ticks atomic.Int32
	release := make(chan struct{})
	ex := execFunc(func(_ context.Context, _ string, cmd []string, _ time.Duration) (*runtime.ExecResult, error) {
		if cmd[0] == "starting" {
			<-release
		}
		return &runtime.ExecResult{}, nil
	})
	m := NewManager(Config{Exec: ex, Results: NewResults(), Jitter: noJitter, Now: func() time.Time { ticks.Add(1); return time.Now() }})
	defer m.Wait()
	defer cancel()
	ticks.Store(0)
	pod := &v1.Pod{}
	pod.UID = "u1"
	startup, ready := execProbe("starting"), execProbe("ready")
	startup.PeriodSeconds, ready.PeriodSeconds = 3600, 3600
	pod.Spec.Containers = []v1.Container{{Name: "a", StartupProbe: startup, ReadinessProbe: ready}}
	m.Sync(ctx, pod, []Container{{ID: "c1", Name: "a", Running: true, StartedAt: time.Now()}}, Target{})
	// Both workers have had their first tick: the readiness one skipped
	// (not started), the startup one waits in its probe.
	waitFor(t, "the first ticks", func() bool { return ticks.Load() >= 2 })
	close(release)
	waitFor(t, "startup Success", func() bool { r, _ := m.Results().Get(Startup, "c1"); return r == Success })
	deadline := time.Now().Add(2 * time.Second)
	for r, _ := m.Results().Get(Readiness, "c1"); r != Success; r, _ = m.Results().Get(Readiness, "c1") {
		if time.Now().After(deadline) {
			t.Fatalf("readiness %v two seconds after the startup probe succeeded", r)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
