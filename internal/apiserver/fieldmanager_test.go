package apiserver

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

func TestOpenAPIName(t *testing.T) {
	if got := openAPIName(reflect.TypeOf(corev1.Pod{})); got != "io.k8s.api.core.v1.Pod" {
		t.Fatalf("openAPIName(Pod) = %q", got)
	}
}

// The field managers' shortcuts give what client-go's converters give.
func TestKindTypeConverterMatchesClientGo(t *testing.T) {
	scheme := clientgoscheme.Scheme
	gvk := corev1.SchemeGroupVersion.WithKind("Pod")
	builtin := applyconfigurations.NewTypeConverter(scheme)
	ours := newKindTypeConverter(builtin, gvk, reflect.TypeOf(corev1.Pod{}))
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"a": "b"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}}},
	}
	want, err := builtin.ObjectToTyped(pod)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ours.ObjectToTyped(pod)
	if err != nil {
		t.Fatal(err)
	}
	wantSet, _ := want.ToFieldSet()
	gotSet, _ := got.ToFieldSet()
	if !wantSet.Equals(gotSet) {
		t.Fatalf("field sets differ:\nclient-go %v\nours      %v", wantSet, gotSet)
	}
	// An object of another kind goes to client-go's converter.
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, Data: map[string]string{"k": "v"}}
	if _, err := ours.ObjectToTyped(cm); err != nil {
		t.Fatalf("ConfigMap: %v", err)
	}
	var _ managedfields.TypeConverter = ours
}

func TestSameVersionConverter(t *testing.T) {
	c := sameVersionConverter{clientgoscheme.Scheme}
	gv := schema.GroupVersion{Version: "v1"}
	pod := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}}
	if out, err := c.ConvertToVersion(pod, gv); err != nil || out != runtime.Object(pod) {
		t.Fatalf("same version: %v, %v; want the object itself", out, err)
	}
	// Without a kind the scheme converts (a copy with the kind set).
	bare := &corev1.Pod{}
	out, err := c.ConvertToVersion(bare, gv)
	if err != nil || out == runtime.Object(bare) || out.GetObjectKind().GroupVersionKind().Kind != "Pod" {
		t.Fatalf("no kind: %v, %v", out, err)
	}
}

// Our field managers record exactly the managedFields client-go's stock
// converters record, for a create, an update, and objects that fail the
// schema (a keyed list element without its key).
func TestFieldManagerShortcutsKeepManagedFields(t *testing.T) {
	scheme := clientgoscheme.Scheme
	gvk := corev1.SchemeGroupVersion.WithKind("Pod")
	builtin := applyconfigurations.NewTypeConverter(scheme)
	stock, err := managedfields.NewDefaultFieldManager(builtin, scheme, noDefaults{}, scheme, gvk, gvk.GroupVersion(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := managedfields.NewDefaultFieldManager(newKindTypeConverter(builtin, gvk, reflect.TypeOf(corev1.Pod{})),
		sameVersionConverter{scheme}, noDefaults{}, scheme, gvk, gvk.GroupVersion(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	pod := func(mutate func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"a": "b"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox",
				Ports: []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}}}},
		}
		if mutate != nil {
			mutate(p)
		}
		return p
	}
	empty := func() runtime.Object { return &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}} }
	managed := func(obj runtime.Object) []metav1.ManagedFieldsEntry {
		entries := obj.(*corev1.Pod).ManagedFields
		for i := range entries {
			entries[i].Time = nil
		}
		return entries
	}
	cases := []struct {
		name      string
		live, new func() runtime.Object
	}{
		{"create", empty, func() runtime.Object { return pod(nil) }},
		{"create, a container without a name", empty, func() runtime.Object {
			return pod(func(p *corev1.Pod) { p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Image: "x"}) })
		}},
		{"create, duplicate containers", empty, func() runtime.Object {
			return pod(func(p *corev1.Pod) { p.Spec.Containers = append(p.Spec.Containers, p.Spec.Containers[0]) })
		}},
		{"update by another manager", func() runtime.Object {
			return stock.UpdateNoErrors(empty(), pod(nil), "first")
		}, func() runtime.Object {
			p := stock.UpdateNoErrors(empty(), pod(nil), "first").(*corev1.Pod)
			p.Labels["x"] = "y"
			p.Spec.Containers[0].Image = "nginx"
			return p
		}},
	}
	for _, tc := range cases {
		want := managed(stock.UpdateNoErrors(tc.live(), tc.new(), "second"))
		got := managed(ours.UpdateNoErrors(tc.live(), tc.new(), "second"))
		t.Logf("%s: %d managedFields entries", tc.name, len(want))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: managedFields differ\nours  %+v\nstock %+v", tc.name, got, want)
		}
	}
}
