package plan

import (
	"time"

	v1 "k8s.io/api/core/v1"
)

// The kubelet's container and image-pull back-off (flowcontrol.Backoff with
// backOffPeriod and MaxContainerBackOff, no jitter).
const (
	InitialBackoff = 10 * time.Second
	MaxBackoff     = 300 * time.Second
	// RetryDelay is how long a start that failed without a back-off of its
	// own (CreateContainerError, RunContainerError, ErrImageNeverPull,
	// CreateContainerConfigError) waits before the next try, as the
	// kubelet's pod worker re-queues a failed sync.
	RetryDelay = 10 * time.Second
)

// BackoffEntry is the back-off of one key.
type BackoffEntry struct {
	Backoff    time.Duration
	LastUpdate time.Time
}

// BackoffState is the back-off of every key. It is a value the worker owns;
// the planner never mutates it but returns the entries to store.
type BackoffState map[string]BackoffEntry

// BackoffKey is the key of a container's restart back-off (the kubelet's
// getStableKey: a changed container starts a fresh back-off).
func BackoffKey(pod *v1.Pod, c *v1.Container) string {
	return pod.Name + "_" + pod.Namespace + "_" + string(pod.UID) + "_" + c.Name + "_" + ContainerHash(c)
}

// PullBackoffKey is the key of an image pull back-off (the kubelet keys it
// by pod UID and image).
func PullBackoffKey(pod *v1.Pod, image string) string {
	return string(pod.UID) + "_" + image
}

// expired reports whether an entry has not been updated for long enough
// (2 × MaxBackoff) to count as fresh: "runs 10 minutes without problems".
func expired(e BackoffEntry, eventTime time.Time) bool {
	return eventTime.Sub(e.LastUpdate) > 2*MaxBackoff
}

// InBackoffSince reports whether an event at eventTime (a container's
// finish time) is still inside key's back-off window at now, and the
// window.
func (s BackoffState) InBackoffSince(key string, eventTime, now time.Time) (bool, time.Duration) {
	e, ok := s[key]
	if !ok || expired(e, eventTime) {
		return false, 0
	}
	return now.Sub(eventTime) < e.Backoff, e.Backoff
}

// InBackoffSinceUpdate reports whether now is inside key's window counted
// from its last update (image pulls).
func (s BackoffState) InBackoffSinceUpdate(key string, now time.Time) (bool, time.Duration) {
	e, ok := s[key]
	if !ok || expired(e, now) {
		return false, 0
	}
	return now.Sub(e.LastUpdate) < e.Backoff, e.Backoff
}

// Next returns key's entry after one more failure: InitialBackoff for a new
// or expired entry, else double, capped at MaxBackoff.
func (s BackoffState) Next(key string, eventTime, now time.Time) BackoffEntry {
	e, ok := s[key]
	if !ok || expired(e, eventTime) {
		return BackoffEntry{Backoff: InitialBackoff, LastUpdate: now}
	}
	return BackoffEntry{Backoff: min(2*e.Backoff, MaxBackoff), LastUpdate: now}
}

// Apply returns a copy of s with updates stored.
func (s BackoffState) Apply(updates map[string]BackoffEntry) BackoffState {
	out := make(BackoffState, len(s)+len(updates))
	for k, v := range s {
		out[k] = v
	}
	for k, v := range updates {
		out[k] = v
	}
	return out
}

// GC returns a copy of s without the entries that have expired at now.
func (s BackoffState) GC(now time.Time) BackoffState {
	out := make(BackoffState, len(s))
	for k, v := range s {
		if !expired(v, now) {
			out[k] = v
		}
	}
	return out
}
