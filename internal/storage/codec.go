package storage

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
)

// Codec turns typed API objects into the bytes kept in etcd and back.
type Codec interface {
	// Encode serializes obj, including its apiVersion and kind (taken from
	// the scheme when obj's TypeMeta is empty). obj is not modified.
	Encode(obj runtime.Object) ([]byte, error)
	// Decode reads data into into, or into a new object of the kind named in
	// data when into is nil.
	Decode(data []byte, into runtime.Object) (runtime.Object, error)
}

// protobufMagic starts every protobuf-encoded value ("k8s\x00").
var protobufMagic = []byte{0x6b, 0x38, 0x73, 0x00}

// SchemeCodec is the Codec of the store: protobuf (the "k8s\x00"
// envelope kube-apiserver writes) for types that implement it, JSON for the
// others (such as peapod's own settings.k8s.io/v1alpha1 PodPreset). It
// decodes either form, so a type may gain protobuf support later.
type SchemeCodec struct {
	scheme *runtime.Scheme
	proto  *protobuf.Serializer
	json   *json.Serializer
}

var _ Codec = (*SchemeCodec)(nil)

// NewCodec returns the codec for the types registered in scheme (typically
// client-go's kubernetes/scheme plus peapod's own groups).
func NewCodec(scheme *runtime.Scheme) *SchemeCodec {
	return &SchemeCodec{
		scheme: scheme,
		proto:  protobuf.NewSerializer(scheme, scheme),
		json:   json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{}),
	}
}

// protoCapable reports whether obj can be written by the protobuf serializer.
func protoCapable(obj runtime.Object) bool {
	_, ok := obj.(interface {
		Size() int
		MarshalToSizedBuffer([]byte) (int, error)
	})
	return ok
}

// Encode implements Codec.
func (c *SchemeCodec) Encode(obj runtime.Object) ([]byte, error) {
	kinds := obj.GetObjectKind()
	orig := kinds.GroupVersionKind()
	gvk := orig
	if gvk.Empty() || gvk.Version == "" {
		found, _, err := c.scheme.ObjectKinds(obj)
		if err != nil {
			return nil, fmt.Errorf("encoding %T: %w", obj, err)
		}
		gvk = found[0]
	}
	kinds.SetGroupVersionKind(gvk)
	defer kinds.SetGroupVersionKind(orig)

	var buf bytes.Buffer
	if protoCapable(obj) {
		if err := c.proto.Encode(obj, &buf); err != nil {
			return nil, fmt.Errorf("encoding %s as protobuf: %w", gvk.Kind, err)
		}
		return buf.Bytes(), nil
	}
	buf.Grow(1024)
	if err := c.json.Encode(obj, &buf); err != nil {
		return nil, fmt.Errorf("encoding %s as JSON: %w", gvk.Kind, err)
	}
	// The JSON serializer ends with a newline; keep values canonical.
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Decode implements Codec.
func (c *SchemeCodec) Decode(data []byte, into runtime.Object) (runtime.Object, error) {
	var (
		obj runtime.Object
		err error
	)
	if bytes.HasPrefix(data, protobufMagic) {
		if ok, err := decodeProtoInto(data[len(protobufMagic):], into); ok {
			if err != nil {
				return nil, fmt.Errorf("decoding: %w", err)
			}
			return into, nil
		}
		obj, _, err = c.proto.Decode(data, nil, into)
	} else {
		obj, _, err = c.json.Decode(data, nil, into)
	}
	if err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	if into != nil && obj != into {
		return nil, fmt.Errorf("decoding: stored %s is not a %T", obj.GetObjectKind().GroupVersionKind().Kind, into)
	}
	return obj, nil
}

// NewForResource returns an empty object of the kind stored under
// /registry/<resource>/, guessed from the scheme (kind "Pod" for "pods"),
// preferring the core group and v1. The watch cache uses it for BOOKMARK
// events; Store's WithNewFunc overrides it.
func (c *SchemeCodec) NewForResource(resource string) (runtime.Object, bool) {
	var best schema.GroupVersionKind
	score := -1
	for gvk := range c.scheme.AllKnownTypes() {
		if strings.HasSuffix(gvk.Kind, "List") || gvk.Version == runtime.APIVersionInternal {
			continue
		}
		plural, _ := meta.UnsafeGuessKindToResource(gvk)
		if plural.Resource != resource {
			continue
		}
		s := 0
		if gvk.Group == "" {
			s += 2
		}
		if gvk.Version == "v1" {
			s++
		}
		if s > score || (s == score && gvk.String() < best.String()) {
			best, score = gvk, s
		}
	}
	if score < 0 {
		return nil, false
	}
	obj, err := c.scheme.New(best)
	return obj, err == nil
}

// decodeProtoInto is the fast path of protobuf decoding: it reads the
// runtime.Unknown envelope without copying and unmarshals its raw bytes
// straight into into, when into is a protobuf type of the kind named in
// the envelope. ok is false when the general path must be taken.
func decodeProtoInto(envelope []byte, into runtime.Object) (ok bool, err error) {
	pb, isPB := into.(interface{ Unmarshal([]byte) error })
	if !isPB {
		return false, nil
	}
	var kind, raw []byte
	for b := envelope; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false, nil
		}
		b = b[n:]
		if typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return false, nil
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return false, nil
		}
		b = b[n:]
		switch num {
		case 1: // typeMeta {apiVersion = 1, kind = 2}
			for tm := v; len(tm) > 0; {
				tnum, ttyp, tn := protowire.ConsumeTag(tm)
				if tn < 0 || ttyp != protowire.BytesType {
					return false, nil
				}
				tm = tm[tn:]
				tv, tn := protowire.ConsumeBytes(tm)
				if tn < 0 {
					return false, nil
				}
				tm = tm[tn:]
				if tnum == 2 {
					kind = tv
				}
			}
		case 2:
			raw = v
		case 4: // contentType: only the plain encoding is handled here
			if len(v) > 0 {
				return false, nil
			}
		}
	}
	t := reflect.TypeOf(into)
	if t.Kind() != reflect.Pointer || string(kind) != t.Elem().Name() {
		return false, nil
	}
	return true, pb.Unmarshal(raw)
}
