package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
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

	w, err := s.cfg.Storage.Watch(ctx, collectionKey(rq.res, rq.info.Namespace), opts)
	var initial *watchEvent
	if err != nil {
		if !errors.Is(err, storage.ErrExpired) {
			rq.fail(err)
			return
		}
		// too old: one ERROR event carrying 410, as kube's watch cache does
		ev, encErr := s.encodeEvent(ctx, rq, watch.Event{Type: watch.Error, Object: statusObject(err)}, accept, true)
		if encErr != nil {
			rq.fail(encErr)
			return
		}
		initial = ev
	} else {
		defer w.Stop()
	}

	flusher, _ := rq.w.(http.Flusher)
	rq.w.Header().Set("Content-Type", "application/json")
	rq.w.Header().Set("Cache-Control", "no-cache, private")
	rq.w.Header().Set("Transfer-Encoding", "chunked")
	rq.w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush()
	}
	enc := json.NewEncoder(rq.w)
	if initial != nil {
		enc.Encode(initial)
		return
	}
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.ResultChan():
			if !ok {
				return
			}
			out, err := s.encodeEvent(ctx, rq, ev, accept, first)
			if err != nil {
				out, _ = s.encodeEvent(ctx, rq, watch.Event{Type: watch.Error, Object: statusObject(err)}, accept, true)
			}
			if ev.Type != watch.Error && ev.Type != watch.Bookmark {
				first = false
			}
			if err := enc.Encode(out); err != nil {
				return // client gone
			}
			if flusher != nil {
				flusher.Flush()
			}
			if ev.Type == watch.Error {
				return
			}
		}
	}
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

// encodeEvent encodes an event's object: a Status for ERROR, a Table row
// set when the client asked for Tables, else the object with its kind.
func (s *Server) encodeEvent(ctx context.Context, rq *request, ev watch.Event, accept acceptInfo, withHeaders bool) (*watchEvent, error) {
	var obj any
	switch o := ev.Object.(type) {
	case *metav1.Status:
		c := o.DeepCopy()
		c.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
		if c.Status == "" {
			c.Status = metav1.StatusFailure
		}
		obj = c
	default:
		if accept.Table && ev.Type != watch.Bookmark {
			t, err := s.convertTable(ctx, rq, ev.Object, accept.TableVersion, includePolicy(rq), !withHeaders)
			if err != nil {
				return nil, err
			}
			obj = t
		} else {
			obj = s.withKind(ev.Object, rq.res.GVK())
		}
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return &watchEvent{Type: ev.Type, Object: raw}, nil
}

func includePolicy(rq *request) metav1.IncludeObjectPolicy {
	p := metav1.IncludeObjectPolicy(rq.r.URL.Query().Get("includeObject"))
	if p == "" {
		return metav1.IncludeMetadata
	}
	return p
}

var _ runtime.Object = (*metav1.Status)(nil)
