package prober

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/agent/plan"
	"github.com/peapod/peapod/internal/agent/tick"
	"github.com/peapod/peapod/internal/runtime"
)

// maxProbeRetries is how many times in all a probe that errored is run
// (kubelet prober.go).
const maxProbeRetries = 3

// worker probes one container with one probe type until stopped.
type worker struct {
	m    *Manager
	key  workerKey
	stop chan struct{}
	// trigger (buffered, one) runs a probe before the next tick: the
	// kubelet worker's manualTriggerCh (Manager.triggerReadiness).
	trigger chan struct{}

	// latest inputs, set by Manager.Sync (under Manager.mu).
	pod    *v1.Pod
	c      Container
	target Target

	counter Counter      // owned by the worker goroutine
	http    RequestCache // an HTTP probe's request, kept from run to run (the worker goroutine's)
}

func (w *worker) set(pod *v1.Pod, c Container, t Target) {
	w.pod, w.c, w.target = pod, c, t
}

func (w *worker) snapshot() (*v1.Pod, Container, Target) {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	return w.pod, w.c, w.target
}

// probe is the worker's probe in pod's spec for container name (both from
// a snapshot: Sync may change them meanwhile).
func (w *worker) probe(pod *v1.Pod, name string) *v1.Probe {
	spec := containerSpec(pod, name)
	if spec == nil {
		return nil
	}
	switch w.key.kind {
	case Liveness:
		return spec.LivenessProbe
	case Readiness:
		return spec.ReadinessProbe
	}
	return spec.StartupProbe
}

func (w *worker) run(ctx context.Context) {
	res := w.m.cfg.Results
	if r, ok := Initial(w.key.kind); ok {
		res.Set(w.key.uid, w.key.kind, w.key.id, r)
	}
	pod, c, _ := w.snapshot()
	p := w.probe(pod, c.Name)
	if p == nil {
		return
	}
	if !w.wait(ctx, w.jitter(c, p)) {
		return
	}
	t := tick.NewTicker(Period(p))
	defer t.Stop()
	for w.tick(ctx) {
		select {
		case <-ctx.Done():
			return
		case <-w.stop:
			return
		case <-t.C:
		case <-w.trigger:
		}
	}
}

// jitter is the wait before the first probe: the configured jitter for a
// container already running when the manager started (an agent restart
// found it), none for the others.
func (w *worker) jitter(c Container, p *v1.Probe) time.Duration {
	if c.StartedAt.After(w.m.start) {
		return 0
	}
	return w.m.cfg.Jitter(Period(p))
}

// wait waits d; false if the worker was stopped meanwhile.
func (w *worker) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-w.stop:
		return false
	case <-t.C:
		return true
	}
}

// tick runs one probe when Decide says so; false ends the worker.
func (w *worker) tick(ctx context.Context) bool {
	pod, c, target := w.snapshot()
	p := w.probe(pod, c.Name)
	if p == nil || w.counter.OnHold {
		return false
	}
	spec := containerSpec(pod, c.Name)
	started := spec.StartupProbe == nil
	if !started {
		r, _ := w.m.cfg.Results.Get(Startup, c.ID)
		started = r == Success
	}
	in := Input{Now: w.m.cfg.Now(), Running: c.Running, StartedAt: c.StartedAt, Started: started, Deleting: pod.DeletionTimestamp != nil}
	switch Decide(w.key.kind, p, in) {
	case StopWithSuccess:
		w.m.cfg.Results.Set(w.key.uid, w.key.kind, w.key.id, Success)
		return false
	case Stop:
		return false
	case Skip:
		return true
	}
	result, out := w.runWithRetries(ctx, p, spec, c.ID, target)
	if ctx.Err() != nil || w.stopped() {
		return false // the container went away while it was probed
	}
	if w.m.cfg.Events != nil && (result == Failure || result == Unknown || result == Warning) {
		fp := plan.FieldPath(pod, c.Name)
		switch result {
		case Warning:
			w.m.cfg.Events.Event(pod, fp, v1.EventTypeWarning, "ProbeWarning", fmt.Sprintf("%s probe warning: %s", w.key.kind, out))
		case Failure:
			w.m.cfg.Events.Event(pod, fp, v1.EventTypeWarning, "Unhealthy", fmt.Sprintf("%s probe failed: %s", w.key.kind, out))
		case Unknown:
			w.m.cfg.Events.Event(pod, fp, v1.EventTypeWarning, "Unhealthy", fmt.Sprintf("%s probe errored and resulted in unknown state: %s", w.key.kind, out))
		}
	}
	var (
		publish Result
		ok      bool
	)
	w.counter, publish, ok = Threshold(w.key.kind, p, w.counter, result)
	if ok {
		w.m.cfg.Results.Set(w.key.uid, w.key.kind, w.key.id, publish)
	}
	if w.key.kind == Startup && publish == Success && ok {
		w.m.triggerReadiness(w.key.uid, w.key.id)
		return false
	}
	return !w.counter.OnHold
}

// runWithRetries is the kubelet's runProbeWithRetries (prober.go): a
// probe that errored (Unknown) is run again, up to maxProbeRetries times
// in all, each attempt with its own timeout, and the last attempt's
// result counts. Unlike the kubelet it gives up at once when another
// attempt could not succeed and would only hold up the worker's exit
// (retryable).
func (w *worker) runWithRetries(ctx context.Context, p *v1.Probe, spec *v1.Container, id string, t Target) (Result, string) {
	for attempt := 1; ; attempt++ {
		result, out, err := run(ctx, w.m.cfg.Exec, p, spec, id, t, &w.http)
		if err == nil || attempt == maxProbeRetries || !w.retryable(ctx, err) {
			return result, out
		}
	}
}

// retryable is false once the worker is stopped or its context is done,
// and for the runtime's "no such container" and "not running" errors.
func (w *worker) retryable(ctx context.Context, err error) bool {
	return ctx.Err() == nil && !w.stopped() &&
		!errors.Is(err, runtime.ErrNotFound) && !errors.Is(err, runtime.ErrInvalidState)
}

// stopped reports whether the manager has stopped the worker.
func (w *worker) stopped() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}
