package fit

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestPodRequests(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	sidecar := func(req ...string) corev1.Container {
		c := ctr(req...)
		c.RestartPolicy = &always
		return c
	}
	tests := []struct {
		name    string
		pod     *corev1.Pod
		want    Resource
		nonZero Resource
	}{{
		name:    "no requests",
		pod:     podWith(nil),
		want:    Resource{},
		nonZero: Resource{MilliCPU: DefaultMilliCPURequest, Memory: DefaultMemoryRequest},
	}, {
		name: "containers add up",
		pod: podWith(func(p *corev1.Pod) {
			p.Spec.Containers = []corev1.Container{ctr("cpu", "500m", "memory", "1Gi"), ctr("cpu", "250m")}
		}),
		want:    Resource{MilliCPU: 750, Memory: 1 << 30},
		nonZero: Resource{MilliCPU: 750, Memory: 1<<30 + DefaultMemoryRequest},
	}, {
		name: "a bigger init container wins per resource",
		pod: podWith(func(p *corev1.Pod) {
			p.Spec.Containers = []corev1.Container{ctr("cpu", "500m", "memory", "1Gi")}
			p.Spec.InitContainers = []corev1.Container{ctr("cpu", "2"), ctr("memory", "512Mi")}
		}),
		want:    Resource{MilliCPU: 2000, Memory: 1 << 30},
		nonZero: Resource{MilliCPU: 2000, Memory: 1 << 30},
	}, {
		name: "sidecars add to the app and to later init containers",
		pod: podWith(func(p *corev1.Pod) {
			p.Spec.Containers = []corev1.Container{ctr("cpu", "1")}
			p.Spec.InitContainers = []corev1.Container{sidecar("cpu", "500m"), ctr("cpu", "2")}
		}),
		want:    Resource{MilliCPU: 2500},
		nonZero: Resource{MilliCPU: 2500, Memory: 2 * DefaultMemoryRequest},
	}, {
		name: "overhead, extended resources and ephemeral storage",
		pod: podWith(func(p *corev1.Pod) {
			p.Spec.Containers = []corev1.Container{ctr("cpu", "1", "example.com/gpu", "2", "ephemeral-storage", "1Gi")}
			p.Spec.Overhead = rl("cpu", "250m", "memory", "64Mi")
		}),
		want:    Resource{MilliCPU: 1250, Memory: 64 << 20, EphemeralStorage: 1 << 30, Scalar: map[corev1.ResourceName]int64{"example.com/gpu": 2}},
		nonZero: Resource{MilliCPU: 1250, Memory: 64<<20 + DefaultMemoryRequest, EphemeralStorage: 1 << 30, Scalar: map[corev1.ResourceName]int64{"example.com/gpu": 2}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PodRequests(tt.pod); !equalResource(got, tt.want) {
				t.Errorf("PodRequests = %+v, want %+v", got, tt.want)
			}
			if got := PodNonZeroRequests(tt.pod); !equalResource(got, tt.nonZero) {
				t.Errorf("PodNonZeroRequests = %+v, want %+v", got, tt.nonZero)
			}
		})
	}
}

func equalResource(a, b Resource) bool {
	if a.MilliCPU != b.MilliCPU || a.Memory != b.Memory || a.EphemeralStorage != b.EphemeralStorage {
		return false
	}
	for k, v := range a.Scalar {
		if b.Scalar[k] != v {
			return false
		}
	}
	for k, v := range b.Scalar {
		if a.Scalar[k] != v {
			return false
		}
	}
	return true
}

func TestNodeAccounting(t *testing.T) {
	n := NewNode(readyNode("n", nil))
	p := NewPod(podWith(func(p *corev1.Pod) {
		p.Spec.Containers = []corev1.Container{ctr("cpu", "1")}
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
	}))
	n.AddPod(p)
	n.AddPod(p)
	if n.Pods != 2 || n.Requested.MilliCPU != 2000 || n.UsedPorts[HostPort{IP: "0.0.0.0", Protocol: corev1.ProtocolTCP, Port: 8080}] != 2 {
		t.Fatalf("after two adds: %+v", n)
	}
	n.RemovePod(p)
	n.RemovePod(p)
	if n.Pods != 0 || n.Requested.MilliCPU != 0 || len(n.UsedPorts) != 0 {
		t.Fatalf("after removes: %+v", n)
	}
	if n.AllowedPods != 110 || n.Allocatable.MilliCPU != 4000 {
		t.Fatalf("allocatable: %+v", n)
	}
}
