package apiserver

import (
	"bytes"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
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
