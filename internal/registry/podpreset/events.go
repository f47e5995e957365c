package podpreset

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/peapod/peapod/internal/storage"
)

// EventSourceComponent is the source.component of the events the
// admission plugin records.
const EventSourceComponent = "podpreset-admission"

// eventWriteTimeout bounds the event write inside an admission request.
const eventWriteTimeout = 5 * time.Second

// StoreEventRecorder writes core/v1 Events straight into storage (the API
// server recording its own events, as kube-apiserver's admission plugins
// do through a loopback client). It implements
// admission.PodPresetEventRecorder. A failed write is logged, never
// returned: an event must not fail the request it describes.
type StoreEventRecorder struct {
	store storage.Interface
	now   func() time.Time
	newID func() types.UID
	log   *slog.Logger
}

// NewStoreEventRecorder returns a recorder over store, which must keep
// events under /registry/events/<namespace>/<name>. now and log may be nil
// (wall clock, slog.Default()).
func NewStoreEventRecorder(store storage.Interface, now func() time.Time, log *slog.Logger) *StoreEventRecorder {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &StoreEventRecorder{store: store, now: now, newID: uuid.NewUUID, log: log}
}

// Eventf records one event about obj, a *v1.ObjectReference or any object
// with metadata and a set kind.
func (r *StoreEventRecorder) Eventf(ctx context.Context, obj runtime.Object, eventType, reason, messageFmt string, args ...any) {
	ev, err := r.newEvent(obj, eventType, reason, fmt.Sprintf(messageFmt, args...))
	if err != nil {
		r.log.Warn("not recording event", "reason", reason, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), eventWriteTimeout)
	defer cancel()
	key := "/registry/events/" + ev.Namespace + "/" + ev.Name
	if err := r.store.Create(ctx, key, ev, &v1.Event{}); err != nil {
		r.log.Warn("recording event failed", "key", key, "reason", reason, "err", err)
	}
}

// newEvent builds the event as client-go's recorder does: named
// <object>.<unix nanoseconds in hex>, count 1, first and last timestamps
// now.
func (r *StoreEventRecorder) newEvent(obj runtime.Object, eventType, reason, message string) (*v1.Event, error) {
	ref, err := objectReference(obj)
	if err != nil {
		return nil, err
	}
	now := r.now()
	base := strings.TrimRight(ref.Name, "-.")
	if base == "" {
		base = strings.ToLower(ref.Kind)
	}
	ts := metav1.NewTime(now)
	return &v1.Event{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta: metav1.ObjectMeta{
			Name:              fmt.Sprintf("%s.%x", base, now.UnixNano()),
			Namespace:         ref.Namespace,
			UID:               r.newID(),
			CreationTimestamp: metav1.NewTime(now.Truncate(time.Second)),
		},
		InvolvedObject: *ref,
		Reason:         reason,
		Message:        message,
		Type:           eventType,
		Source:         v1.EventSource{Component: EventSourceComponent},
		FirstTimestamp: ts,
		LastTimestamp:  ts,
		Count:          1,
	}, nil
}

func objectReference(obj runtime.Object) (*v1.ObjectReference, error) {
	if ref, ok := obj.(*v1.ObjectReference); ok {
		if ref.Namespace == "" {
			return nil, fmt.Errorf("event about %s %q: no namespace", ref.Kind, ref.Name)
		}
		return ref.DeepCopy(), nil
	}
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, fmt.Errorf("event about %T: %w", obj, err)
	}
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk.Kind == "" {
		return nil, fmt.Errorf("event about %T %q: kind not set", obj, acc.GetName())
	}
	if acc.GetNamespace() == "" {
		return nil, fmt.Errorf("event about %s %q: no namespace", gvk.Kind, acc.GetName())
	}
	name := acc.GetName()
	if name == "" {
		name = acc.GetGenerateName()
	}
	apiVersion, kind := gvk.ToAPIVersionAndKind()
	return &v1.ObjectReference{
		APIVersion:      apiVersion,
		Kind:            kind,
		Namespace:       acc.GetNamespace(),
		Name:            name,
		UID:             acc.GetUID(),
		ResourceVersion: acc.GetResourceVersion(),
	}, nil
}
