package apiserver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
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
