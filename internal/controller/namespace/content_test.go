package namespace

import (
	"errors"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fakeDiscoverer answers ServerPreferredNamespacedResources from fixed lists.
type fakeDiscoverer struct {
	lists []*metav1.APIResourceList
	err   error
}

var _ Discoverer = (*fakeDiscoverer)(nil)

func (f *fakeDiscoverer) ServerPreferredNamespacedResources() ([]*metav1.APIResourceList, error) {
	return f.lists, f.err
}

func TestDeletableResources(t *testing.T) {
	all := []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	d := &fakeDiscoverer{lists: []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "pods", Namespaced: true, Verbs: all},
			{Name: "bindings", Namespaced: true, Verbs: []string{"create"}},
			{Name: "events", Namespaced: true, Verbs: []string{"delete", "list", "get"}},
		}},
		{GroupVersion: "settings.k8s.io/v1alpha1", APIResources: []metav1.APIResource{{Name: "podpresets", Namespaced: true, Verbs: all}}},
		{GroupVersion: "not a/group/version", APIResources: []metav1.APIResource{{Name: "x", Namespaced: true, Verbs: all}}},
	}, err: errors.New("unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1")}
	got, err := deletableResources(d)
	if err == nil {
		t.Fatal("partial discovery error lost")
	}
	want := map[schema.GroupVersionResource]bool{
		{Version: "v1", Resource: "pods"}:                                       true,
		{Version: "v1", Resource: "events"}:                                     false,
		{Group: "settings.k8s.io", Version: "v1alpha1", Resource: "podpresets"}: true,
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for gvr, coll := range want {
		if c, ok := got[gvr]; !ok || c != coll {
			t.Errorf("%v: got %v/%v, want deletecollection=%v", gvr, c, ok, coll)
		}
	}
}
