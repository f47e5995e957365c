package apiserver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// acceptInfo is what the Accept header asks for.
type acceptInfo struct {
	Table bool // application/json;as=Table;g=meta.k8s.io;v=v1|v1beta1
	YAML  bool
	// Protobuf: the client prefers application/vnd.kubernetes.protobuf.
	Protobuf bool
	// Metadata: as=PartialObjectMetadata(List);g=meta.k8s.io;v=v1 (the
	// metadata client), in JSON or protobuf.
	Metadata bool
	// TableVersion is v1 or v1beta1.
	TableVersion string
}

// parseAccept reads the Accept header. JSON is always what we send; a
// protobuf preference is answered in JSON, which client-go accepts.
func parseAccept(h string) acceptInfo {
	var a acceptInfo
	for _, part := range strings.Split(h, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if (params["as"] == "PartialObjectMetadata" || params["as"] == "PartialObjectMetadataList") && params["g"] == "meta.k8s.io" && params["v"] == "v1" &&
			(mt == "application/json" || mt == "application/vnd.kubernetes.protobuf") {
			return acceptInfo{Metadata: true, Protobuf: mt == "application/vnd.kubernetes.protobuf"}
		}
		switch mt {
		case "application/json":
			if params["as"] == "Table" && params["g"] == "meta.k8s.io" && (params["v"] == "v1" || params["v"] == "v1beta1") {
				return acceptInfo{Table: true, TableVersion: params["v"]}
			}
			if params["as"] == "" {
				return a
			}
		case "application/yaml":
			if params["as"] == "" {
				return acceptInfo{YAML: true}
			}
		case "application/vnd.kubernetes.protobuf":
			if params["as"] == "" {
				return acceptInfo{Protobuf: true}
			}
		case "*/*", "application/*":
			if params["as"] == "" {
				return a
			}
		}
	}
	return a
}

// withKind returns obj with apiVersion/kind set from the scheme, copying it
// first when they are missing (objects from storage may be shared).
func (s *Server) withKind(obj runtime.Object, gvk schema.GroupVersionKind) runtime.Object {
	if obj.GetObjectKind().GroupVersionKind() == gvk {
		return obj
	}
	obj = obj.DeepCopyObject()
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj
}

// writeObject encodes obj (which must carry its kind) as protobuf when the
// client prefers it and the type supports it, else as JSON (or YAML).
func (s *Server) writeObject(w http.ResponseWriter, r *http.Request, code int, obj runtime.Object) {
	if parseAccept(r.Header.Get("Accept")).Protobuf && protoCapable(obj) {
		if meta.IsListType(obj) && r.Method != http.MethodHead {
			s.streamProtobufList(w, code, obj)
			return
		}
		var buf bytes.Buffer
		if err := s.protobuf.Encode(obj, &buf); err == nil {
			w.Header().Set("Content-Type", "application/vnd.kubernetes.protobuf")
			w.Header().Set("Cache-Control", "no-cache, private")
			w.WriteHeader(code)
			w.Write(buf.Bytes())
			return
		}
	}
	if meta.IsListType(obj) && r.Method != http.MethodHead && !parseAccept(r.Header.Get("Accept")).YAML {
		if s.streamJSONList(w, code, obj) {
			return
		}
	}
	s.writeJSON(w, r, code, obj)
}

// listWriteBuffer is the write buffer of a streamed list response.
const listWriteBuffer = 64 << 10

// streamProtobufList writes a list as protobuf item by item: a LIST of
// 10,000 pods then needs no 15 MB buffer for the whole response (twice,
// with the copy into the response), only the list's items. An error once
// the response has started cannot become a Status any more: the handler
// aborts and the client sees a broken response, never a truncated list
// that decodes.
func (s *Server) streamProtobufList(w http.ResponseWriter, code int, obj runtime.Object) {
	w.Header().Set("Content-Type", "application/vnd.kubernetes.protobuf")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(code)
	bw := bufio.NewWriterSize(w, listWriteBuffer)
	if err := s.protobufLists.Encode(obj, bw); err != nil {
		panic(http.ErrAbortHandler)
	}
	if err := bw.Flush(); err != nil {
		panic(http.ErrAbortHandler)
	}
}

// streamJSONList writes a typed list as JSON item by item, the same bytes
// as writeJSON: the list without its items (its "items" last, as in every
// Kubernetes list type), then each item. It returns false, having written
// nothing, for a list it cannot split so (then writeJSON writes it whole).
// As for protobuf, an error once the response has started aborts it.
func (s *Server) streamJSONList(w http.ResponseWriter, code int, obj runtime.Object) bool {
	head, items, ok := splitJSONList(obj)
	if !ok {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(code)
	bw := bufio.NewWriterSize(w, listWriteBuffer)
	bw.Write(head)
	for i := 0; i < items.Len(); i++ {
		if i > 0 {
			bw.WriteByte(',')
		}
		raw, err := json.Marshal(items.Index(i).Addr().Interface())
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		bw.Write(raw)
	}
	bw.WriteString("]}\n")
	if err := bw.Flush(); err != nil {
		panic(http.ErrAbortHandler)
	}
	return true
}

// splitJSONList returns the JSON of list up to the opening bracket of its
// items (`{...,"items":[`) and its Items slice; false if list is not a
// pointer to a struct whose Items slice is encoded last as "items".
func splitJSONList(list runtime.Object) (head []byte, items reflect.Value, ok bool) {
	if _, custom := list.(json.Marshaler); custom {
		return nil, reflect.Value{}, false
	}
	v := reflect.ValueOf(list)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, reflect.Value{}, false
	}
	f := v.Elem().FieldByName("Items")
	if !f.IsValid() || f.Kind() != reflect.Slice || !f.CanSet() {
		return nil, reflect.Value{}, false
	}
	saved := reflect.ValueOf(f.Interface())
	f.Set(reflect.MakeSlice(f.Type(), 0, 0))
	raw, err := json.Marshal(list)
	f.Set(saved)
	const tail = `"items":[]}`
	if err != nil || !bytes.HasSuffix(raw, []byte(tail)) {
		return nil, reflect.Value{}, false
	}
	if saved.IsNil() {
		// nil Items encode as null: keep that to writeJSON
		return nil, reflect.Value{}, false
	}
	return raw[:len(raw)-len("]}")], saved, true
}

// protoCapable reports whether obj has generated protobuf marshalling.
func protoCapable(obj runtime.Object) bool {
	_, ok := obj.(interface {
		Size() int
		MarshalToSizedBuffer([]byte) (int, error)
	})
	return ok
}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, code int, obj any) {
	data, err := json.Marshal(obj)
	if err != nil {
		http.Error(w, "encoding response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	ct := "application/json"
	if r != nil && parseAccept(r.Header.Get("Accept")).YAML {
		if y, err := yaml.JSONToYAML(data); err == nil {
			data, ct = y, "application/yaml"
		}
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(code)
	if r != nil && r.Method == http.MethodHead {
		return
	}
	w.Write(data)
	if ct == "application/json" {
		w.Write([]byte("\n"))
	}
}
