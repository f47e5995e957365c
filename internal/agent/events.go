package agent

import (
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Event reasons, as the kubelet spells them (pkg/kubelet/events).
const (
	EventPulling = "Pulling"
	EventPulled  = "Pulled"
	EventFailed  = "Failed"
	// EventPullFallback: an Always pull could not reach the registry and the
	// node's copy of the image is used (peapod-specific, see docs/agent.md).
	EventPullFallback      = "ImagePullFallback"
	EventBackOff           = "BackOff"
	EventErrImageNeverPull = "ErrImageNeverPull"
	EventCreated           = "Created"
	EventStarted           = "Started"
	EventKilling           = "Killing"
	EventSandboxChanged    = "SandboxChanged"
	EventFailedSandbox     = "FailedCreatePodSandBox"
	EventFailedPostStart   = "FailedPostStartHook"
	EventMissingClusterDNS = "MissingClusterDNS"
)

// Recorder receives the events of the pods the agent runs, with the
// kubelet's reasons and messages. The API event writer (aggregating
// repeats) implements it later; LogRecorder writes them to the agent's log.
type Recorder interface {
	// Event records one event about pod; fieldPath names the container
	// ("spec.containers{c}", "spec.initContainers{c}") or is empty.
	Event(pod *v1.Pod, fieldPath, eventType, reason, message string)
}

// LogRecorder logs events, skipping a repeat of the last message of the
// same pod, object and reason.
type LogRecorder struct {
	Logf func(format string, args ...any)

	mu   sync.Mutex
	last map[string]string
}

var _ Recorder = (*LogRecorder)(nil)

// Event logs the event unless it repeats the previous one.
func (r *LogRecorder) Event(pod *v1.Pod, fieldPath, eventType, reason, message string) {
	key := string(pod.UID) + "/" + fieldPath + "/" + reason
	r.mu.Lock()
	if r.last == nil {
		r.last = map[string]string{}
	}
	repeat := r.last[key] == message
	r.last[key] = message
	r.mu.Unlock()
	if repeat || r.Logf == nil {
		return
	}
	obj := pod.Namespace + "/" + pod.Name
	if fieldPath != "" {
		obj += " " + fieldPath
	}
	r.Logf("event %s %s %s: %s", eventType, reason, obj, message)
}

// Forget drops the remembered messages of a pod.
func (r *LogRecorder) Forget(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.last {
		if len(k) > len(uid) && k[:len(uid)+1] == string(uid)+"/" {
			delete(r.last, k)
		}
	}
}
