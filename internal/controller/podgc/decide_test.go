package podgc

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func pod(name, node string, phase corev1.PodPhase, created int, deleting bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name,
		CreationTimestamp: metav1.NewTime(time.Unix(int64(created), 0))},
		Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
	if deleting {
		dt := metav1.NewTime(time.Unix(1000, 0))
		p.DeletionTimestamp = &dt
	}
	return p
}

func TestDecide(t *testing.T) {
	nodes := map[string]bool{"alive": true}
	exists := func(n string) bool { return nodes[n] }
	tests := []struct {
		name      string
		pods      []*corev1.Pod
		threshold int
		want      []string // name:reason
	}{
		{name: "nothing to do", pods: []*corev1.Pod{pod("a", "alive", corev1.PodRunning, 1, false), pod("b", "", corev1.PodPending, 1, false)}},
		{name: "orphaned running and terminating", pods: []*corev1.Pod{
			pod("a", "gone", corev1.PodRunning, 1, false), pod("b", "gone", corev1.PodUnknown, 1, true), pod("c", "alive", corev1.PodRunning, 1, true)},
			want: []string{"a:orphaned", "b:orphaned"}},
		{name: "terminating never scheduled", pods: []*corev1.Pod{pod("a", "", corev1.PodPending, 1, true)},
			want: []string{"a:unscheduled-terminating"}},
		{name: "terminated over threshold, oldest first", threshold: 2, pods: []*corev1.Pod{
			pod("new", "alive", corev1.PodSucceeded, 30, false), pod("old", "alive", corev1.PodFailed, 10, false),
			pod("mid", "alive", corev1.PodSucceeded, 20, false), pod("run", "alive", corev1.PodRunning, 1, false)},
			want: []string{"old:terminated-over-threshold"}},
		{name: "threshold 0 keeps all", pods: []*corev1.Pod{pod("a", "alive", corev1.PodSucceeded, 1, false), pod("b", "alive", corev1.PodSucceeded, 2, false)}},
		{name: "orphan counted once", threshold: 1, pods: []*corev1.Pod{
			pod("a", "gone", corev1.PodSucceeded, 1, false), pod("b", "alive", corev1.PodSucceeded, 2, false)},
			want: []string{"a:orphaned"}},
		{name: "ties broken by name", threshold: 1, pods: []*corev1.Pod{
			pod("z", "alive", corev1.PodSucceeded, 5, false), pod("y", "alive", corev1.PodSucceeded, 5, false)},
			want: []string{"y:terminated-over-threshold"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range Decide(tt.pods, exists, tt.threshold) {
				got = append(got, v.Pod.Name+":"+string(v.Reason))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
