package volume

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// ResourceValue as the kubelet's downward API: ceil(value/divisor), CPU in
// millicores, and a limit that is unset or zero read as the node's
// allocatable (cpu, memory, ephemeral-storage; never hugepages).
func TestResourceValue(t *testing.T) {
	alloc := v1.ResourceList{
		v1.ResourceCPU:              resource.MustParse("2"),
		v1.ResourceMemory:           resource.MustParse("8Gi"),
		v1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
	c := &v1.Container{Resources: v1.ResourceRequirements{
		Limits: v1.ResourceList{v1.ResourceMemory: resource.MustParse("0"), v1.ResourceCPU: resource.MustParse("250m"),
			"hugepages-2Mi": resource.MustParse("0")},
		Requests: v1.ResourceList{v1.ResourceMemory: resource.MustParse("32Mi")},
	}}
	cases := []struct{ res, div, want string }{
		{"limits.cpu", "", "1"},
		{"limits.cpu", "1m", "250"},
		{"limits.memory", "1Gi", "8"}, // a zero limit is unset
		{"memory", "1Mi", "8192"},
		{"limits.ephemeral-storage", "1Gi", "100"},
		{"ephemeral-storage", "1Gi", "100"},
		{"requests.memory", "1Mi", "32"},
		{"requests.cpu", "", "0"},
		{"limits.hugepages-2Mi", "", "0"},
	}
	for _, tc := range cases {
		ref := &v1.ResourceFieldSelector{Resource: tc.res}
		if tc.div != "" {
			ref.Divisor = resource.MustParse(tc.div)
		}
		got, err := ResourceValue(c, ref, alloc)
		if err != nil || got != tc.want {
			t.Errorf("%s / %q = %q %v, want %q", tc.res, tc.div, got, err, tc.want)
		}
	}
	if _, err := ResourceValue(c, &v1.ResourceFieldSelector{Resource: "limits"}, alloc); err == nil {
		t.Error("bad resource accepted")
	}
}
