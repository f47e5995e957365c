package storage

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
)

// testPreset is a type without protobuf support, like peapod's PodPreset.
type testPreset struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Env               map[string]string `json:"env,omitempty"`
}

func (p *testPreset) DeepCopyObject() runtime.Object {
	out := *p
	p.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	if p.Env != nil {
		out.Env = map[string]string{}
		for k, v := range p.Env {
			out.Env[k] = v
		}
	}
	return &out
}

var testPresetGV = schema.GroupVersion{Group: "settings.k8s.io", Version: "v1alpha1"}

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := scheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	s.AddKnownTypeWithName(testPresetGV.WithKind("PodPreset"), &testPreset{})
	return s
}

func TestCodecProtobufForBuiltinTypes(t *testing.T) {
	c := NewCodec(testScheme(t))
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "ns", Labels: map[string]string{"b": "2", "a": "1"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	data, err := c.Encode(pod)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("k8s\x00")) {
		t.Fatalf("not protobuf: %q", data[:8])
	}
	if !pod.GetObjectKind().GroupVersionKind().Empty() {
		t.Fatalf("Encode changed the caller's TypeMeta: %v", pod.GetObjectKind().GroupVersionKind())
	}
	again, _ := c.Encode(pod)
	if !bytes.Equal(data, again) {
		t.Fatal("encoding is not deterministic")
	}
	into := &corev1.Pod{}
	if _, err := c.Decode(data, into); err != nil {
		t.Fatal(err)
	}
	if into.Name != "a" || into.Labels["b"] != "2" || into.Spec.Containers[0].Image != "busybox" {
		t.Fatalf("decoded %+v", into)
	}
	obj, err := c.Decode(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := obj.(*corev1.Pod); !ok || p.Name != "a" {
		t.Fatalf("decode without into: %T", obj)
	}
}

func TestCodecJSONForTypesWithoutProtobuf(t *testing.T) {
	c := NewCodec(testScheme(t))
	pp := &testPreset{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Env: map[string]string{"A": "1"}}
	data, err := c.Encode(pp)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), `{"kind":"PodPreset","apiVersion":"settings.k8s.io/v1alpha1"`) {
		t.Fatalf("not JSON with its kind: %s", data)
	}
	obj, err := c.Decode(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := obj.(*testPreset); !ok || p.Env["A"] != "1" {
		t.Fatalf("decoded %#v", obj)
	}
}

func TestCodecDecodesJSONOfProtobufTypes(t *testing.T) {
	// Values written as JSON (by an older version or by hand) still read.
	c := NewCodec(testScheme(t))
	pod := &corev1.Pod{}
	if _, err := c.Decode([]byte(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"j"}}`), pod); err != nil || pod.Name != "j" {
		t.Fatalf("%v %q", err, pod.Name)
	}
}

func TestCodecErrors(t *testing.T) {
	c := NewCodec(testScheme(t))
	for name, data := range map[string][]byte{
		"empty":           nil,
		"garbage":         []byte("not an object"),
		"truncated proto": []byte("k8s\x00\x0a\x05"),
		"unknown kind":    []byte(`{"kind":"Nope","apiVersion":"v1"}`),
	} {
		if _, err := c.Decode(data, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	type unregistered struct{ testPreset }
	if _, err := c.Encode(&unregistered{}); err == nil {
		t.Error("encoding an unregistered type: no error")
	}
}

func TestNewForResource(t *testing.T) {
	c := NewCodec(testScheme(t))
	for resource, want := range map[string]string{
		"pods": "*v1.Pod", "secrets": "*v1.Secret", "configmaps": "*v1.ConfigMap",
		"events": "*v1.Event", "podpresets": "*storage.testPreset", "leases": "*v1.Lease",
	} {
		obj, ok := c.NewForResource(resource)
		if !ok {
			t.Errorf("%s: not found", resource)
			continue
		}
		if got := fmt.Sprintf("%T", obj); got != want {
			t.Errorf("%s: %s, want %s", resource, got, want)
		}
	}
	if _, ok := c.NewForResource("nothings"); ok {
		t.Error("nothings: found")
	}
}

func TestCodecRefusesAnotherKind(t *testing.T) {
	c := NewCodec(testScheme(t))
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a"}}
	data, err := c.Encode(pod)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Decode(data, &corev1.Secret{}); err == nil {
		t.Fatal("a stored Pod decoded into a Secret")
	}
	pp, _ := c.Encode(&testPreset{ObjectMeta: metav1.ObjectMeta{Name: "p"}})
	if _, err := c.Decode(pp, &corev1.Pod{}); err == nil {
		t.Fatal("a stored PodPreset decoded into a Pod")
	}
}
