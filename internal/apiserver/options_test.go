package apiserver

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/peapod/peapod/internal/registry"
)

func TestCollectionKey(t *testing.T) {
	pods := &registry.Resource{GVR: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, Namespaced: true}
	nodes := &registry.Resource{GVR: schema.GroupVersionResource{Version: "v1", Resource: "nodes"}}
	cases := []struct {
		res       *registry.Resource
		namespace string
		want      string
	}{
		{pods, "default", "/registry/pods/default/"},
		{pods, "", "/registry/pods/"},
		{nodes, "", "/registry/nodes/"},
	}
	for _, c := range cases {
		if got := collectionKey(c.res, c.namespace); got != c.want {
			t.Errorf("collectionKey(%s, %q) = %q, want %q", c.res.GVR.Resource, c.namespace, got, c.want)
		}
	}
}
