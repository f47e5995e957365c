package pod

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func benchPods(n int) *corev1.PodList {
	list := &corev1.PodList{Items: make([]corev1.Pod, n)}
	for i := range list.Items {
		p := validPod()
		p.Name = fmt.Sprintf("pod-%d", i)
		p.Labels = map[string]string{"app": "bench", "i": fmt.Sprint(i % 10)}
		p.CreationTimestamp = metav1.NewTime(tableNow.Add(-time.Duration(i) * time.Second))
		p.Spec.NodeName = "node1"
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true, State: runningState()}}}
		list.Items[i] = *p
	}
	return list
}

// BenchmarkConvertToTable10k measures `kubectl get pods` rendering of a
// 10,000-pod list.
func BenchmarkConvertToTable10k(b *testing.B) {
	list := benchPods(10000)
	s := NewResourceWithClock(func() time.Time { return tableNow }).Strategy
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.ConvertToTable(context.Background(), list, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetAttrs10k measures field-selector attribute extraction over
// 10,000 pods.
func BenchmarkGetAttrs10k(b *testing.B) {
	list := benchPods(10000)
	s := NewResource().Strategy
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range list.Items {
			if _, _, err := s.GetAttrs(&list.Items[j]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkValidate measures create validation of a typical pod.
func BenchmarkValidate(b *testing.B) {
	p := benchPods(1).Items[0]
	for i := 0; i < b.N; i++ {
		if errs := Validate(&p); len(errs) != 0 {
			b.Fatal(errs)
		}
	}
}
