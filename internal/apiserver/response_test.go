package apiserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// A protobuf LIST is streamed item by item; it must be the very bytes the
// ordinary protobuf encoder gives, and decode to every item.
func TestProtobufListStreamedIsTheUsualEncoding(t *testing.T) {
	e := newTestEnv(t)
	for i := 0; i < 5; i++ {
		body := fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p%d"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`, i)
		if code, b, _ := e.do(t, "POST", "/api/v1/namespaces/default/pods", "application/json", []byte(body)); code != 201 {
			t.Fatalf("create: %d %s", code, b)
		}
	}
	code, b, hdr := e.do(t, "GET", "/api/v1/namespaces/default/pods", "", nil, "Accept", "application/vnd.kubernetes.protobuf")
	if code != 200 || hdr.Get("Content-Type") != "application/vnd.kubernetes.protobuf" {
		t.Fatalf("list: %d %s", code, hdr.Get("Content-Type"))
	}
	pb := protobuf.NewSerializer(clientgoscheme.Scheme, clientgoscheme.Scheme)
	obj, _, err := pb.Decode(b, nil, &corev1.PodList{})
	if err != nil {
		t.Fatal(err)
	}
	list := obj.(*corev1.PodList)
	if len(list.Items) != 5 {
		t.Fatalf("%d items, want 5", len(list.Items))
	}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PodList"))
	var want bytes.Buffer
	if err := pb.Encode(list, &want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want.Bytes()) {
		t.Fatalf("streamed list (%d bytes) differs from the usual encoding (%d bytes)", len(b), want.Len())
	}
}

// A JSON LIST is streamed item by item; it must be the very bytes
// json.Marshal of the whole list gives (plus writeJSON's newline).
func TestJSONListStreamedIsTheUsualEncoding(t *testing.T) {
	e := newTestEnv(t)
	for _, accept := range []string{"", "application/json"} {
		code, b, hdr := e.do(t, "GET", "/api/v1/namespaces/default/pods", "", nil, "Accept", accept)
		if code != 200 || hdr.Get("Content-Type") != "application/json" || string(b) != `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"`+listRV(t, b)+`"},"items":[]}`+"\n" {
			t.Fatalf("empty list: %d %s %s", code, hdr.Get("Content-Type"), b)
		}
	}
	for i := 0; i < 5; i++ {
		body := fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p%d","annotations":{"a":"<b>&\u2028é"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`, i)
		if code, b, _ := e.do(t, "POST", "/api/v1/namespaces/default/pods", "application/json", []byte(body)); code != 201 {
			t.Fatalf("create: %d %s", code, b)
		}
	}
	code, b, _ := e.do(t, "GET", "/api/v1/namespaces/default/pods", "", nil)
	if code != 200 {
		t.Fatalf("list: %d %s", code, b)
	}
	var list corev1.PodList
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 5 {
		t.Fatalf("%d items, want 5", len(list.Items))
	}
	want, err := json.Marshal(&list)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(want)+"\n" {
		t.Fatalf("streamed list differs from json.Marshal:\n got %s\nwant %s", b, want)
	}
}

// splitJSONList leaves alone what it cannot split into the same bytes.
func TestSplitJSONList(t *testing.T) {
	if _, _, ok := splitJSONList(&corev1.PodList{}); ok {
		t.Fatal("nil items (encoded null) split")
	}
	if _, _, ok := splitJSONList(&unstructured.UnstructuredList{Items: []unstructured.Unstructured{}}); ok {
		t.Fatal("a list with its own MarshalJSON split")
	}
	l := &corev1.PodList{Items: []corev1.Pod{{}}}
	head, items, ok := splitJSONList(l)
	if !ok || items.Len() != 1 || len(l.Items) != 1 || !bytes.HasSuffix(head, []byte(`"items":[`)) {
		t.Fatalf("split = %s, %d items, %v; list keeps %d items", head, items.Len(), ok, len(l.Items))
	}
}

func listRV(t *testing.T, b []byte) string {
	var l metav1.List
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	return l.ResourceVersion
}
