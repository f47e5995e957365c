// Package events writes the agent's pod events to the API as the kubelet
// does: core/v1 Events from source kubelet/<node>, repeats of the same
// object, reason and message aggregated into one Event (count, lastTimestamp).
package events

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/peapod/peapod/internal/agent"
	"github.com/peapod/peapod/internal/agent/plan"
)

// Component is the event source of the agent, as the kubelet names it.
const Component = "kubelet"

// Recorder is an agent.Recorder writing to the API. Event never blocks:
// events queue in a buffer and are dropped (and counted in the log) when
// it is full. Run's goroutine owns the aggregation cache and every write.
type Recorder struct {
	client   kubernetes.Interface
	nodeName string
	now      func() time.Time
	logf     func(format string, args ...any)
	queue    chan *v1.Event
	forget   chan types.UID
	dropped  chan struct{}
}

var _ agent.Recorder = (*Recorder)(nil)

// New returns a recorder for node with a queue of size buffer (default 1000).
func New(client kubernetes.Interface, nodeName string, buffer int, logf func(string, ...any)) *Recorder {
	if buffer <= 0 {
		buffer = 1000
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Recorder{
		client: client, nodeName: nodeName, now: time.Now, logf: logf,
		queue: make(chan *v1.Event, buffer), forget: make(chan types.UID, 256), dropped: make(chan struct{}, 1),
	}
}

// Event queues one event about pod.
func (r *Recorder) Event(pod *v1.Pod, fieldPath, eventType, reason, message string) {
	if plan.IsStaticPod(pod) {
		// Static pods have no API object (mirror pods are not created).
		return
	}
	ev := Build(pod, fieldPath, eventType, reason, message, r.nodeName, r.now())
	select {
	case r.queue <- ev:
	default:
		select {
		case r.dropped <- struct{}{}:
		default:
		}
	}
}

// Forget drops the aggregation state of a pod that is gone.
func (r *Recorder) Forget(uid types.UID) {
	select {
	case r.forget <- uid:
	default:
	}
}

// Build is the Event the kubelet writes for pod at now.
func Build(pod *v1.Pod, fieldPath, eventType, reason, message, node string, now time.Time) *v1.Event {
	t := metav1.NewTime(now)
	return &v1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s.%x", pod.Name, now.UnixNano()),
			Namespace: pod.Namespace,
		},
		InvolvedObject: v1.ObjectReference{
			Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name,
			UID: pod.UID, ResourceVersion: pod.ResourceVersion, FieldPath: fieldPath,
		},
		Reason:              reason,
		Message:             message,
		Type:                eventType,
		Source:              v1.EventSource{Component: Component, Host: node},
		FirstTimestamp:      t,
		LastTimestamp:       t,
		Count:               1,
		ReportingController: Component,
		ReportingInstance:   node,
	}
}

// key aggregates repeats: same object, field, type, reason and message.
func key(ev *v1.Event) string {
	o := ev.InvolvedObject
	return string(o.UID) + "\x00" + o.FieldPath + "\x00" + ev.Type + "\x00" + ev.Reason + "\x00" + ev.Message
}

// Run writes queued events until ctx ends.
func (r *Recorder) Run(ctx context.Context) {
	seen := map[string]*v1.Event{} // key -> the Event last written
	byUID := map[types.UID][]string{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.dropped:
			r.logf("events: queue full, dropped events")
		case uid := <-r.forget:
			for _, k := range byUID[uid] {
				delete(seen, k)
			}
			delete(byUID, uid)
		case ev := <-r.queue:
			k := key(ev)
			if prev := seen[k]; prev != nil {
				upd := prev.DeepCopy()
				upd.Count++
				upd.LastTimestamp = ev.LastTimestamp
				got, err := r.client.CoreV1().Events(ev.Namespace).Update(ctx, upd, metav1.UpdateOptions{})
				if err == nil {
					seen[k] = got
					continue
				}
				if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
					r.logf("events: updating %s/%s: %v", ev.Namespace, prev.Name, err)
					continue
				}
				// Gone (TTL) or changed: start a new one.
				ev.Count = upd.Count
				ev.FirstTimestamp = prev.FirstTimestamp
			}
			got, err := r.client.CoreV1().Events(ev.Namespace).Create(ctx, ev, metav1.CreateOptions{})
			if err != nil {
				if ctx.Err() == nil && !apierrors.IsNotFound(err) {
					r.logf("events: creating %s %s for %s/%s: %v", ev.Type, ev.Reason, ev.Namespace, ev.InvolvedObject.Name, err)
				}
				continue
			}
			if seen[k] == nil {
				byUID[ev.InvolvedObject.UID] = append(byUID[ev.InvolvedObject.UID], k)
			}
			seen[k] = got
		}
	}
}
