package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/runtime/serializer/streaming"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/peapod/peapod/internal/storage"
)

// watchEvent is one line of the watch stream.
type watchEvent struct {
	Type   watch.EventType `json:"type"`
	Object json.RawMessage `json:"object"`
}

// serveWatch streams watch events as chunked JSON, one event per line,
// flushed per event, until the client goes, the timeout passes or storage
// ends the watch.
func (s *Server) serveWatch(rq *request) {
	opts, err := listOptions(rq.r, rq.res)
	if err != nil {
		rq.fail(err)
		return
	}
	if rq.info.Name != "" {
		// /watch/.../pods/<name>: a collection watch on that name
		sel := fields.OneTermEqualSelector("metadata.name", rq.info.Name)
		if opts.Predicate.Field != nil && !opts.Predicate.Field.Empty() {
			sel = fields.AndSelectors(sel, opts.Predicate.Field)
		}
		opts.Predicate.Field = sel
	}
	opts.Predicate.Limit, opts.Predicate.Continue = 0, ""
	timeout := s.cfg.MinWatchTimeout + time.Duration(rand.Int64N(int64(s.cfg.MinWatchTimeout)))
	if v := rq.r.URL.Query().Get("timeoutSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			rq.fail(badRequest("invalid timeoutSeconds %q", v))
			return
		}
		if n > 0 {
			timeout = time.Duration(n) * time.Second
		}
	}
	ctx, cancel := context.WithTimeout(rq.r.Context(), timeout)
	defer cancel()
	accept := parseAccept(rq.r.Header.Get("Accept"))

	// Shared objects: every watcher of an event sends the watch cache's
	// object, encoded once per format (see eventBytes).
	w, err := s.cfg.Storage.Watch(storage.WithSharedObjects(ctx), collectionKey(rq.res, rq.info.Namespace), opts)
	var initial *metav1.Status
	if err != nil {
		if !errors.Is(err, storage.ErrExpired) {
			rq.fail(err)
			return
		}
		// too old: one ERROR event carrying 410, as kube's watch cache does
		initial = statusObject(err)
	} else {
		defer w.Stop()
	}

	if isWebSocket(rq) {
		serveWebSocketWatch(ctx, rq, func(ctx context.Context, out eventWriter) {
			s.streamEvents(ctx, rq, w, initial, accept, out, func() {})
		})
		return
	}
	flusher, _ := rq.w.(http.Flusher)
	flush := func() {
		if flusher != nil {
			flusher.Flush()
		}
	}
	var out eventWriter = &jsonEvents{w: rq.w}
	ct := "application/json"
	if accept.Protobuf && (accept.Metadata || protoCapable(rq.res.New())) {
		ct = "application/vnd.kubernetes.protobuf;stream=watch"
		out = &protoEvents{embedded: s.protobuf, stream: streaming.NewEncoder(protobuf.LengthDelimitedFramer.NewFrameWriter(rq.w), protobuf.NewRawSerializer(s.cfg.Scheme, s.cfg.Scheme))}
	}
	rq.w.Header().Set("Content-Type", ct)
	rq.w.Header().Set("Cache-Control", "no-cache, private")
	rq.w.Header().Set("Transfer-Encoding", "chunked")
	rq.w.WriteHeader(http.StatusOK)
	flush()
	s.streamEvents(ctx, rq, w, initial, accept, out, flush)
}

// maxUnflushedEvents bounds how many events a busy watch writes between
// flushes.
const maxUnflushedEvents = 32

// streamEvents writes initial (a 410 for a compacted resourceVersion) or
// every event of w until ctx ends, w closes or the client goes.
func (s *Server) streamEvents(ctx context.Context, rq *request, w watch.Interface, initial *metav1.Status, accept acceptInfo, out eventWriter, flush func()) {
	if initial != nil {
		initial.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
		if raw, err := out.encode(initial); err == nil {
			out.write(watch.Error, raw)
		}
		flush()
		return
	}
	first := true
	unflushed := 0
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.ResultChan():
			if !ok {
				return
			}
			raw, err := s.eventBytes(ctx, rq, ev, accept, first, out)
			if err != nil {
				ev.Type = watch.Error
				obj, _ := s.eventObject(ctx, rq, watch.Event{Type: watch.Error, Object: statusObject(err)}, accept, true)
				if raw, err = out.encode(obj); err != nil {
					return
				}
			}
			if ev.Type != watch.Error && ev.Type != watch.Bookmark {
				first = false
			}
			if err := out.write(ev.Type, raw); err != nil {
				return // client gone
			}
			// Flush when no further event is waiting (or every
			// maxUnflushedEvents): an idle watch sends each event at once,
			// a busy one sends them in batches rather than one frame and
			// syscall per event, and keeps up.
			unflushed++
			if ev.Type == watch.Error || len(w.ResultChan()) == 0 || unflushed >= maxUnflushedEvents {
				flush()
				unflushed = 0
			}
			if ev.Type == watch.Error {
				return
			}
		}
	}
}

// eventBytes encodes what an event carries on the wire (eventObject). An
// object the watch cache shares among watchers (*storage.SharedObject) is
// encoded once per format and kind and its bytes sent by every watcher;
// a Table depends on the request, so it is made per watcher, from a copy.
func (s *Server) eventBytes(ctx context.Context, rq *request, ev watch.Event, accept acceptInfo, first bool, out eventWriter) ([]byte, error) {
	so, ok := ev.Object.(*storage.SharedObject)
	if !ok {
		obj, err := s.eventObject(ctx, rq, ev, accept, first)
		if err != nil {
			return nil, err
		}
		return out.encode(obj)
	}
	if accept.Table {
		ev.Object = so.Object.DeepCopyObject()
		obj, err := s.eventObject(ctx, rq, ev, accept, first)
		if err != nil {
			return nil, err
		}
		return out.encode(obj)
	}
	gvk := rq.res.GVK()
	key := out.format() + " " + gvk.String()
	if accept.Metadata {
		key += " metadata"
	}
	return so.Encoded(key, func(obj runtime.Object) ([]byte, error) {
		// eventObject copies obj before setting its kind: obj is shared.
		o, err := s.eventObject(ctx, rq, watch.Event{Type: ev.Type, Object: obj}, accept, first)
		if err != nil {
			return nil, err
		}
		return out.encode(o)
	})
}

// statusObject turns an error into the Status an ERROR event carries.
func statusObject(err error) *metav1.Status {
	if st, ok := err.(apierrors.APIStatus); ok {
		s := st.Status()
		return &s
	}
	if errors.Is(err, storage.ErrExpired) {
		s := apierrors.NewResourceExpired(err.Error()).ErrStatus
		return &s
	}
	s := toAPIError(err, schema.GroupResource{}, "").ErrStatus
	return &s
}

// eventObject is what an event carries on the wire: a Status for ERROR,
// a Table when the client asked for Tables, else the object with its kind.
func (s *Server) eventObject(ctx context.Context, rq *request, ev watch.Event, accept acceptInfo, withHeaders bool) (runtime.Object, error) {
	switch o := ev.Object.(type) {
	case *metav1.Status:
		c := o.DeepCopy()
		c.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
		if c.Status == "" {
			c.Status = metav1.StatusFailure
		}
		return c, nil
	}
	if accept.Metadata {
		return partialMetadata(ev.Object), nil
	}
	if accept.Table && ev.Type != watch.Bookmark {
		return s.convertTable(ctx, rq, ev.Object, accept.TableVersion, includePolicy(rq), !withHeaders)
	}
	return s.withKind(ev.Object, rq.res.GVK()), nil
}

// eventWriter writes watch events: encode gives the bytes of an event's
// object (which callers may share among watchers of the same format),
// write sends one event with those bytes.
type eventWriter interface {
	format() string
	encode(obj runtime.Object) ([]byte, error)
	write(typ watch.EventType, raw []byte) error
}

// jsonEvents writes newline-separated JSON events, byte for byte what
// json.Encoder writes for a watchEvent.
type jsonEvents struct {
	w   io.Writer
	buf []byte
}

func (j *jsonEvents) format() string                            { return "json" }
func (j *jsonEvents) encode(obj runtime.Object) ([]byte, error) { return json.Marshal(obj) }

func (j *jsonEvents) write(typ watch.EventType, raw []byte) error {
	j.buf = appendJSONEvent(j.buf[:0], typ, raw)
	j.buf = append(j.buf, '\n')
	_, err := j.w.Write(j.buf)
	return err
}

// appendJSONEvent appends {"type":<typ>,"object":<raw>}, as json.Marshal
// of a watchEvent writes it (raw is compact JSON from json.Marshal).
func appendJSONEvent(b []byte, typ watch.EventType, raw []byte) []byte {
	b = append(b, `{"type":`...)
	b = strconv.AppendQuote(b, string(typ)) // the event types are plain ASCII words
	b = append(b, `,"object":`...)
	b = append(b, raw...)
	return append(b, '}')
}

// protoEvents writes length-delimited protobuf WatchEvents
// (application/vnd.kubernetes.protobuf;stream=watch), as kube-apiserver
// does for protobuf clients such as client-go's typed informers.
type protoEvents struct {
	embedded runtime.Encoder
	stream   streaming.Encoder
}

func (p *protoEvents) format() string { return "protobuf" }

func (p *protoEvents) encode(obj runtime.Object) ([]byte, error) {
	var buf bytes.Buffer
	if err := p.embedded.Encode(obj, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (p *protoEvents) write(typ watch.EventType, raw []byte) error {
	return p.stream.Encode(&metav1.WatchEvent{Type: string(typ), Object: runtime.RawExtension{Raw: raw}})
}

func includePolicy(rq *request) metav1.IncludeObjectPolicy {
	p := metav1.IncludeObjectPolicy(rq.r.URL.Query().Get("includeObject"))
	if p == "" {
		return metav1.IncludeMetadata
	}
	return p
}

var _ runtime.Object = (*metav1.Status)(nil)
