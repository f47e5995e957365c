package prober

import (
	"time"

	v1 "k8s.io/api/core/v1"
)

// Input is what a worker knows at one tick.
type Input struct {
	Now       time.Time
	Running   bool
	StartedAt time.Time
	// Started is true when the container has no startup probe or it
	// succeeded.
	Started bool
	// Deleting is set once the pod has a deletionTimestamp.
	Deleting bool
}

// Action is what a worker does at one tick.
type Action int

const (
	// Skip leaves the result unchanged this tick.
	Skip Action = iota
	// Probe runs the handler.
	Probe
	// StopWithSuccess sets Success and ends the worker (liveness and
	// startup of a deleted pod).
	StopWithSuccess
	// Stop ends the worker (a startup probe that has succeeded).
	Stop
)

// Decide is the kubelet worker's doProbe gate.
func Decide(kind Kind, p *v1.Probe, in Input) Action {
	if in.Deleting && (kind == Liveness || kind == Startup) {
		return StopWithSuccess
	}
	if !in.Running {
		return Skip
	}
	if kind == Startup && in.Started {
		return Stop
	}
	if kind != Startup && !in.Started {
		return Skip
	}
	if in.Now.Before(in.StartedAt.Add(time.Duration(p.InitialDelaySeconds) * time.Second)) {
		return Skip
	}
	return Probe
}

// Counter tracks consecutive equal results against the thresholds.
type Counter struct {
	Last Result
	Run  int
	// OnHold is set once a liveness or startup probe failed: the worker
	// probes no more (the container is killed; its successor gets a new
	// worker).
	OnHold bool
}

// Threshold applies one probe result. It returns the new counter and the
// result to publish (ok false: keep the current one).
func Threshold(kind Kind, p *v1.Probe, c Counter, r Result) (Counter, Result, bool) {
	if r == Unknown {
		// Probe errors are discarded.
		return c, Unknown, false
	}
	if r == Warning {
		r = Success
	}
	if c.Last == r {
		c.Run++
	} else {
		c.Last, c.Run = r, 1
	}
	if (r == Failure && c.Run < threshold(p.FailureThreshold, 3)) ||
		(r == Success && c.Run < threshold(p.SuccessThreshold, 1)) {
		return c, Unknown, false
	}
	if r == Failure && (kind == Liveness || kind == Startup) {
		c.OnHold, c.Run = true, 0
	}
	return c, r, true
}

// Initial is the result a new worker publishes before its first probe.
func Initial(kind Kind) (Result, bool) {
	switch kind {
	case Readiness:
		return Failure, true
	case Liveness:
		return Success, true
	}
	return Unknown, false
}

func threshold(v, def int32) int {
	if v <= 0 {
		return int(def)
	}
	return int(v)
}

// Period is the probe's period (default 10 s).
func Period(p *v1.Probe) time.Duration {
	if p.PeriodSeconds <= 0 {
		return 10 * time.Second
	}
	return time.Duration(p.PeriodSeconds) * time.Second
}

// Timeout is the probe's timeout (default 1 s).
func Timeout(p *v1.Probe) time.Duration {
	if p.TimeoutSeconds <= 0 {
		return time.Second
	}
	return time.Duration(p.TimeoutSeconds) * time.Second
}
