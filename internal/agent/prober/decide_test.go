package prober

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestDecide(t *testing.T) {
	p := &v1.Probe{InitialDelaySeconds: 5}
	run := Input{Now: t0.Add(10 * time.Second), Running: true, StartedAt: t0, Started: true}
	with := func(f func(*Input)) Input { in := run; f(&in); return in }
	for _, tc := range []struct {
		name string
		kind Kind
		in   Input
		want Action
	}{
		{"liveness probes a started container", Liveness, run, Probe},
		{"readiness probes a started container", Readiness, run, Probe},
		{"not running", Readiness, with(func(i *Input) { i.Running = false }), Skip},
		{"before initialDelaySeconds", Liveness, with(func(i *Input) { i.Now = t0.Add(4 * time.Second) }), Skip},
		{"at initialDelaySeconds", Liveness, with(func(i *Input) { i.Now = t0.Add(5 * time.Second) }), Probe},
		{"liveness waits for startup", Liveness, with(func(i *Input) { i.Started = false }), Skip},
		{"readiness waits for startup", Readiness, with(func(i *Input) { i.Started = false }), Skip},
		{"startup probes until started", Startup, with(func(i *Input) { i.Started = false }), Probe},
		{"startup stops once it succeeded", Startup, run, Stop},
		{"liveness stops on deletion", Liveness, with(func(i *Input) { i.Deleting = true }), StopWithSuccess},
		{"startup stops on deletion", Startup, with(func(i *Input) { i.Deleting, i.Started = true, false }), StopWithSuccess},
		{"readiness keeps running on deletion", Readiness, with(func(i *Input) { i.Deleting = true }), Probe},
	} {
		if got := Decide(tc.kind, p, tc.in); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestThreshold(t *testing.T) {
	type step struct {
		in      Result
		publish Result // Unknown: nothing published
	}
	for _, tc := range []struct {
		name   string
		kind   Kind
		probe  v1.Probe
		steps  []step
		onHold bool
	}{
		{"liveness fails at the 3rd failure (default)", Liveness, v1.Probe{},
			[]step{{Failure, Unknown}, {Failure, Unknown}, {Failure, Failure}}, true},
		{"a success resets the failure run", Liveness, v1.Probe{FailureThreshold: 2},
			[]step{{Failure, Unknown}, {Success, Success}, {Failure, Unknown}, {Failure, Failure}}, true},
		{"errors are discarded", Readiness, v1.Probe{FailureThreshold: 2},
			[]step{{Failure, Unknown}, {Unknown, Unknown}, {Failure, Failure}}, false},
		{"readiness needs successThreshold successes", Readiness, v1.Probe{SuccessThreshold: 2, FailureThreshold: 1},
			[]step{{Success, Unknown}, {Success, Success}, {Failure, Failure}, {Success, Unknown}, {Success, Success}}, false},
		{"readiness keeps probing after failing", Readiness, v1.Probe{FailureThreshold: 1},
			[]step{{Failure, Failure}, {Failure, Failure}}, false},
		{"startup fails at threshold", Startup, v1.Probe{FailureThreshold: 1},
			[]step{{Failure, Failure}}, true},
		{"a warning counts as a success", Readiness, v1.Probe{SuccessThreshold: 2, FailureThreshold: 1},
			[]step{{Success, Unknown}, {Warning, Success}, {Failure, Failure}, {Warning, Unknown}, {Success, Success}}, false},
	} {
		var c Counter
		for i, s := range tc.steps {
			var got Result
			var ok bool
			c, got, ok = Threshold(tc.kind, &tc.probe, c, s.in)
			if !ok {
				got = Unknown
			}
			if got != s.publish {
				t.Errorf("%s: step %d (%v): published %v, want %v", tc.name, i, s.in, got, s.publish)
			}
		}
		if c.OnHold != tc.onHold {
			t.Errorf("%s: onHold %v, want %v", tc.name, c.OnHold, tc.onHold)
		}
	}
}

func TestInitialAndDefaults(t *testing.T) {
	if r, ok := Initial(Readiness); !ok || r != Failure {
		t.Errorf("readiness starts %v %v", r, ok)
	}
	if r, ok := Initial(Liveness); !ok || r != Success {
		t.Errorf("liveness starts %v %v", r, ok)
	}
	if _, ok := Initial(Startup); ok {
		t.Errorf("startup starts with a result")
	}
	if Period(&v1.Probe{}) != 10*time.Second || Timeout(&v1.Probe{}) != time.Second ||
		Period(&v1.Probe{PeriodSeconds: 3}) != 3*time.Second || Timeout(&v1.Probe{TimeoutSeconds: 2}) != 2*time.Second {
		t.Errorf("defaults")
	}
}

func TestStartJitter(t *testing.T) {
	for _, tc := range []struct {
		period, since time.Duration
		r             float64
		want          time.Duration
	}{
		{10 * time.Second, 0, 0.5, 5 * time.Second}, // just started: a fraction of the period
		{10 * time.Second, 9 * time.Second, 0.25, 2500 * time.Millisecond},
		{10 * time.Second, 10 * time.Second, 0.5, 0}, // started a period ago or more: none
		{time.Second, time.Minute, 0.9, 0},
		{time.Second, 0, 0, 0},
	} {
		if got := StartJitter(tc.period, tc.since, tc.r); got != tc.want {
			t.Errorf("StartJitter(%v, %v, %v) = %v, want %v", tc.period, tc.since, tc.r, got, tc.want)
		}
	}
}
