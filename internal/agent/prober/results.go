// Package prober runs the container probes of the node agent (SEMANTICS.md
// §4): one worker goroutine per container and probe type (liveness,
// readiness, startup), handlers exec, httpGet, tcpSocket and grpc, and a
// results store whose Updates channel wakes the pod workers, as the
// kubelet's prober and prober/results packages do.
//
//	pod worker --Sync(pod, containers, target)--> Manager
//	                                                 | starts/stops
//	                                                 v
//	                                  worker (container ID, probe type)
//	                                      tick: Decide -> handler (errors retried) -> Threshold
//	                                                 |
//	pod worker <--Updates()-- Results <--Set---------+
//
// The decisions (whether to probe, how a result counts against the
// thresholds) are pure functions of their inputs and the time (decide.go).
package prober

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// Kind is the probe type.
type Kind int

const (
	Liveness Kind = iota
	Readiness
	Startup
)

func (k Kind) String() string {
	switch k {
	case Liveness:
		return "Liveness"
	case Readiness:
		return "Readiness"
	case Startup:
		return "Startup"
	}
	return "Unknown"
}

// Result is a probe's outcome.
type Result int

const (
	Unknown Result = iota
	Success
	Failure
	// Warning is a success worth a ProbeWarning event (an HTTP probe that
	// stopped at a redirect to another host): the thresholds count it as
	// Success.
	Warning
)

func (r Result) String() string {
	switch r {
	case Success:
		return "Success"
	case Failure:
		return "Failure"
	case Warning:
		return "Warning"
	}
	return "Unknown"
}

// Update is a changed result.
type Update struct {
	PodUID      types.UID
	ContainerID string
	Kind        Kind
	Result      Result
}

type resultKey struct {
	kind Kind
	id   string
}

// Results holds the current result per container and probe type. Set is
// called by the probe workers, Get by the pod workers; every change is
// also sent on Updates.
type Results struct {
	mu      sync.Mutex
	m       map[resultKey]Result
	updates chan Update
}

// NewResults returns an empty store.
func NewResults() *Results {
	return &Results{m: map[resultKey]Result{}, updates: make(chan Update, 256)}
}

// Updates delivers changed results. When the channel is full an update is
// dropped (Get still has the result; pod workers also resync periodically).
func (r *Results) Updates() <-chan Update { return r.updates }

// Get returns the result of containerID's probe of kind.
func (r *Results) Get(kind Kind, containerID string) (Result, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[resultKey{kind, containerID}]
	return v, ok
}

// Set stores a result and reports a change on Updates.
func (r *Results) Set(uid types.UID, kind Kind, containerID string, res Result) {
	r.mu.Lock()
	k := resultKey{kind, containerID}
	old, ok := r.m[k]
	r.m[k] = res
	r.mu.Unlock()
	if !ok || old != res {
		select {
		case r.updates <- Update{PodUID: uid, ContainerID: containerID, Kind: kind, Result: res}:
		default:
		}
	}
}

// Remove forgets a result.
func (r *Results) Remove(kind Kind, containerID string) {
	r.mu.Lock()
	delete(r.m, resultKey{kind, containerID})
	r.mu.Unlock()
}
