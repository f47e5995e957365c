package events

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestBuild(t *testing.T) {
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u1", ResourceVersion: "7"}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := Build(pod, "spec.containers{c}", v1.EventTypeNormal, "Started", "Started container c", "n1", now)
	if e.Namespace != "ns" || e.InvolvedObject.Kind != "Pod" || e.InvolvedObject.UID != "u1" || e.InvolvedObject.FieldPath != "spec.containers{c}" ||
		e.Source != (v1.EventSource{Component: "kubelet", Host: "n1"}) || e.ReportingController != "kubelet" || e.ReportingInstance != "n1" ||
		e.Count != 1 || !e.FirstTimestamp.Time.Equal(now) {
		t.Errorf("event %+v", e)
	}
}

func TestRecorderAggregatesRepeats(t *testing.T) {
	client := fake.NewSimpleClientset()
	r := New(client, "n1", 10, t.Logf)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u1"}}
	r.Event(pod, "spec.containers{c}", v1.EventTypeWarning, "BackOff", "Back-off restarting failed container")
	r.Event(pod, "spec.containers{c}", v1.EventTypeWarning, "BackOff", "Back-off restarting failed container")
	r.Event(pod, "spec.containers{c}", v1.EventTypeWarning, "BackOff", "Back-off restarting failed container")
	r.Event(pod, "spec.containers{c}", v1.EventTypeNormal, "Started", "Started container c")
	static := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns", UID: "u2", Annotations: map[string]string{"kubernetes.io/config.source": "file"}}}
	r.Event(static, "", v1.EventTypeNormal, "Started", "x")
	var list *v1.EventList
	for i := 0; i < 200; i++ {
		list, _ = client.CoreV1().Events("ns").List(ctx, metav1.ListOptions{})
		if len(list.Items) == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	list, _ = client.CoreV1().Events("ns").List(ctx, metav1.ListOptions{})
	if len(list.Items) != 2 {
		t.Fatalf("%d events: %+v", len(list.Items), list.Items)
	}
	for _, e := range list.Items {
		want := int32(1)
		if e.Reason == "BackOff" {
			want = 3
		}
		if e.Count != want {
			t.Errorf("%s count %d, want %d", e.Reason, e.Count, want)
		}
	}
}

func TestRecorderDropsWhenFull(t *testing.T) {
	r := New(fake.NewSimpleClientset(), "n1", 1, nil)
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u1"}}
	done := make(chan struct{})
	go func() {
		for i := 0; i < 100; i++ {
			r.Event(pod, "", v1.EventTypeNormal, "Started", "x")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Event blocked without a running recorder")
	}
}
