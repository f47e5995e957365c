package apiserver

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// FuzzDecodeBody feeds arbitrary bodies of each media type through the
// request decoder: it must return an object or an error, never panic.
// `go test` runs the seeds; `go test -fuzz FuzzDecodeBody` explores.
func FuzzDecodeBody(f *testing.F) {
	seeds := []struct {
		mt   string
		body string
	}{
		{"application/json", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"}]}}`},
		{"application/json", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","name":"q"},"bogus":[1,2]}`},
		{"application/json", `{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"resources":{"limits":{"cpu":"1e1000"}}}]}}`},
		{"application/yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {a: b}\n"},
		{"application/yaml", "a: &x [*x]\n"},
		{"application/vnd.kubernetes.protobuf", "k8s\x00\n\x0b\n\x02v1\x12\x03Pod\x12\x00"},
		{"application/vnd.kubernetes.protobuf", "k8s\x00\xff\xff"},
		{"application/json", `[`},
	}
	for _, s := range seeds {
		f.Add(s.mt, []byte(s.body))
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		f.Fatal(err)
	}
	d := newDecoder(scheme, DefaultMaxRequestBytes)
	gvk := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	f.Fuzz(func(t *testing.T, mt string, body []byte) {
		for _, v := range []string{validationStrict, validationWarn, validationIgnore} {
			obj, _, err := d.decode(body, mt, gvk, &corev1.Pod{}, v)
			if err == nil {
				if _, ok := obj.(*corev1.Pod); !ok {
					t.Fatalf("decoded %T without error", obj)
				}
			}
		}
		d.decodeDeleteOptions(body, mt)
	})
}
