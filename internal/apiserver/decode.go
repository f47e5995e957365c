package apiserver

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	jsonserializer "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
)

// Field validation levels (?fieldValidation=).
const (
	validationStrict = "Strict"
	validationWarn   = "Warn"
	validationIgnore = "Ignore"
)

// decoder turns request bodies into typed objects.
type decoder struct {
	scheme      *runtime.Scheme
	strictJSON  *jsonserializer.Serializer
	strictYAML  *jsonserializer.Serializer
	protobuf    *protobuf.Serializer
	maxBodySize int64
}

func newDecoder(scheme *runtime.Scheme, max int64) *decoder {
	return &decoder{
		scheme:      scheme,
		strictJSON:  jsonserializer.NewSerializerWithOptions(jsonserializer.DefaultMetaFactory, scheme, scheme, jsonserializer.SerializerOptions{Strict: true}),
		strictYAML:  jsonserializer.NewSerializerWithOptions(jsonserializer.DefaultMetaFactory, scheme, scheme, jsonserializer.SerializerOptions{Yaml: true, Strict: true}),
		protobuf:    protobuf.NewSerializer(scheme, scheme),
		maxBodySize: max,
	}
}

// readBody reads the request body, refusing more than max bytes with 413.
func readBody(r *http.Request, max int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	if r.ContentLength > max {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", max))
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, badRequest("reading request body: %v", err)
	}
	if int64(len(data)) > max {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", max))
	}
	return data, nil
}

// mediaType returns the request's Content-Type without parameters.
func mediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return "application/json"
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	return mt
}

// fieldValidation returns the requested level, defaulting to Warn as
// kube-apiserver does, or an error for an unknown one.
func fieldValidation(r *http.Request) (string, error) {
	v := r.URL.Query().Get("fieldValidation")
	switch v {
	case "":
		return validationWarn, nil
	case validationStrict, validationWarn, validationIgnore:
		return v, nil
	}
	return "", badRequest("fieldValidation must be one of Ignore, Warn or Strict, not %q", v)
}

// decode decodes data of media type mt into a new object of kind gvk.
// Unknown and duplicate fields fail with 400 under Strict and come back as
// warnings under Warn. The decoded kind must be gvk.
func (d *decoder) decode(data []byte, mt string, gvk schema.GroupVersionKind, into runtime.Object, validation string) (runtime.Object, []string, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, badRequest("the request body is empty")
	}
	var dec runtime.Decoder
	switch mt {
	case "application/json", "application/merge-patch+json":
		dec = d.strictJSON
	case "application/yaml", "application/apply-patch+yaml", "text/yaml":
		dec = d.strictYAML
	case "application/vnd.kubernetes.protobuf":
		dec = d.protobuf
	default:
		return nil, nil, unsupportedMediaType(mt)
	}
	obj, actual, err := decodeSafely(dec, data, &gvk, into)
	var warnings []string
	if err != nil {
		if !runtime.IsStrictDecodingError(err) || obj == nil {
			return nil, nil, cannotHandle(gvk, err)
		}
		switch validation {
		case validationStrict:
			return nil, nil, cannotHandle(gvk, err)
		case validationWarn:
			if sde, ok := runtime.AsStrictDecodingError(err); ok {
				for _, e := range sde.Errors() {
					warnings = append(warnings, e.Error())
				}
			} else {
				warnings = []string{err.Error()}
			}
		}
	}
	if actual == nil || *actual != gvk {
		got := schema.GroupVersionKind{}
		if actual != nil {
			got = *actual
		}
		if got.GroupVersion() != gvk.GroupVersion() {
			return nil, nil, badRequest("the API version in the data (%s) does not match the expected API version (%s)", got.GroupVersion().String(), gvk.GroupVersion().String())
		}
		return nil, nil, badRequest("the kind in the data (%s) does not match the expected kind (%s)", got.Kind, gvk.Kind)
	}
	return obj, warnings, nil
}

// decodeSafely turns a decoder panic (hostile input) into an error.
func decodeSafely(dec runtime.Decoder, data []byte, gvk *schema.GroupVersionKind, into runtime.Object) (obj runtime.Object, actual *schema.GroupVersionKind, err error) {
	defer func() {
		if p := recover(); p != nil {
			obj, actual, err = nil, nil, fmt.Errorf("malformed body: %v", p)
		}
	}()
	return dec.Decode(data, gvk, into)
}

func unsupportedMediaType(mt string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusUnsupportedMediaType,
		Reason: metav1.StatusReasonUnsupportedMediaType, Message: fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got %q)", mt)}}
}

func cannotHandle(gvk schema.GroupVersionKind, err error) error {
	return apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", gvk.Kind, gvk.Version, gvk.Kind, err))
}

// decodeOptions decodes *Options bodies (DeleteOptions) sent as JSON, YAML
// or protobuf; an empty body yields zero options.
func (d *decoder) decodeDeleteOptions(data []byte, mt string) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	if len(bytes.TrimSpace(data)) == 0 {
		return opts, nil
	}
	var dec runtime.Decoder = jsonserializer.NewSerializerWithOptions(jsonserializer.DefaultMetaFactory, d.scheme, d.scheme, jsonserializer.SerializerOptions{Yaml: strings.Contains(mt, "yaml")})
	if mt == "application/vnd.kubernetes.protobuf" {
		dec = d.protobuf
	}
	gvk := schema.GroupVersionKind{Version: "v1", Kind: "DeleteOptions"}
	obj, _, err := decodeSafely(dec, data, &gvk, opts)
	if err != nil {
		return nil, badRequest("decoding DeleteOptions: %v", err)
	}
	o, ok := obj.(*metav1.DeleteOptions)
	if !ok {
		return nil, badRequest("expected DeleteOptions, got %T", obj)
	}
	return o, nil
}
