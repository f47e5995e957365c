package status

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func cond(t v1.PodConditionType, s v1.ConditionStatus, at time.Time) v1.PodCondition {
	return v1.PodCondition{Type: t, Status: s, LastTransitionTime: metav1.NewTime(at)}
}

func TestMerge(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Minute)
	gate := v1.PodConditionType("example.com/gate")
	tests := []struct {
		name      string
		cur, next v1.PodStatus
		wantPhase v1.PodPhase
		wantConds []v1.PodCondition
	}{
		{
			name:      "foreign conditions kept, owned ones replaced",
			cur:       v1.PodStatus{Phase: v1.PodPending, Conditions: []v1.PodCondition{cond(gate, v1.ConditionTrue, t0), cond(v1.PodReady, v1.ConditionFalse, t0)}},
			next:      v1.PodStatus{Phase: v1.PodRunning, Conditions: []v1.PodCondition{cond(v1.PodReady, v1.ConditionTrue, t1)}},
			wantPhase: v1.PodRunning,
			wantConds: []v1.PodCondition{cond(gate, v1.ConditionTrue, t0), cond(v1.PodReady, v1.ConditionTrue, t1)},
		},
		{
			// A gate a controller flipped after the agent's last status:
			// the agent's stale copy is not written back.
			name:      "foreign conditions are the API's, never the agent's copy",
			cur:       v1.PodStatus{Phase: v1.PodRunning, Conditions: []v1.PodCondition{cond(gate, v1.ConditionTrue, t1)}},
			next:      v1.PodStatus{Phase: v1.PodRunning, Conditions: []v1.PodCondition{cond(gate, v1.ConditionFalse, t0), cond(v1.PodReady, v1.ConditionTrue, t1)}},
			wantPhase: v1.PodRunning,
			wantConds: []v1.PodCondition{cond(gate, v1.ConditionTrue, t1), cond(v1.PodReady, v1.ConditionTrue, t1)},
		},
		{
			name:      "unchanged condition keeps its transition time",
			cur:       v1.PodStatus{Phase: v1.PodRunning, Conditions: []v1.PodCondition{cond(v1.PodScheduled, v1.ConditionTrue, t0)}},
			next:      v1.PodStatus{Phase: v1.PodRunning, Conditions: []v1.PodCondition{cond(v1.PodScheduled, v1.ConditionTrue, t1)}},
			wantPhase: v1.PodRunning,
			wantConds: []v1.PodCondition{cond(v1.PodScheduled, v1.ConditionTrue, t0)},
		},
		{
			name:      "a terminal phase is never undone",
			cur:       v1.PodStatus{Phase: v1.PodSucceeded},
			next:      v1.PodStatus{Phase: v1.PodRunning},
			wantPhase: v1.PodSucceeded,
		},
		{
			name:      "Running to Failed is allowed",
			cur:       v1.PodStatus{Phase: v1.PodRunning},
			next:      v1.PodStatus{Phase: v1.PodFailed},
			wantPhase: v1.PodFailed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Merge(tt.cur, tt.next)
			if got.Phase != tt.wantPhase {
				t.Errorf("phase %s, want %s", got.Phase, tt.wantPhase)
			}
			if len(got.Conditions) != len(tt.wantConds) {
				t.Fatalf("conditions %+v, want %+v", got.Conditions, tt.wantConds)
			}
			for i := range got.Conditions {
				g, w := got.Conditions[i], tt.wantConds[i]
				if g.Type != w.Type || g.Status != w.Status || !g.LastTransitionTime.Equal(&w.LastTransitionTime) {
					t.Errorf("condition %d: %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestNewer(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{{"10", "9", true}, {"9", "10", false}, {"5", "5", false}, {"x", "5", true}, {"", "5", false}} {
		if got := newer(tt.a, tt.b); got != tt.want {
			t.Errorf("newer(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}

func TestManagerWritesStatusAndFinalDelete(t *testing.T) {
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "u1", ResourceVersion: "1"},
		Status: v1.PodStatus{Phase: v1.PodPending, Conditions: []v1.PodCondition{{Type: "example.com/gate", Status: v1.ConditionTrue}}}}
	client := fake.NewSimpleClientset(pod)
	m := New(client, t.Logf)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)

	m.SetPodStatus(pod, v1.PodStatus{Phase: v1.PodRunning, PodIP: "10.0.0.2"})
	waitFor(t, "status written", func() bool {
		p, err := client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
		return err == nil && p.Status.Phase == v1.PodRunning && p.Status.PodIP == "10.0.0.2" && len(p.Status.Conditions) == 1
	})
	if got := m.Pods(); len(got) != 1 || got[0].Status.PodIP != "10.0.0.2" {
		t.Errorf("Pods() = %+v", got)
	}

	// The same status again is not written.
	writes := func() int {
		n := 0
		for _, a := range client.Actions() {
			if a.GetVerb() == "update" && a.GetSubresource() == "status" {
				n++
			}
		}
		return n
	}
	before := writes()
	m.SetPodStatus(pod, v1.PodStatus{Phase: v1.PodRunning, PodIP: "10.0.0.2"})
	time.Sleep(50 * time.Millisecond)
	if writes() != before {
		t.Errorf("unchanged status written again")
	}

	m.PodTerminated(pod)
	waitFor(t, "final delete", func() bool {
		_, err := client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	for _, a := range client.Actions() {
		if d, ok := a.(k8stesting.DeleteAction); ok {
			o := d.GetDeleteOptions()
			if o.GracePeriodSeconds == nil || *o.GracePeriodSeconds != 0 || o.Preconditions == nil || *o.Preconditions.UID != "u1" {
				t.Errorf("delete options %+v", o)
			}
		}
	}
	if len(m.Pods()) != 0 {
		t.Errorf("terminated pod still listed")
	}
}

func TestManagerSkipsStaticPods(t *testing.T) {
	client := fake.NewSimpleClientset()
	m := New(client, t.Logf)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "default", UID: "u2",
		Annotations: map[string]string{"kubernetes.io/config.source": "file"}}}
	m.SetPodStatus(pod, v1.PodStatus{Phase: v1.PodRunning})
	m.PodTerminated(pod)
	time.Sleep(50 * time.Millisecond)
	if a := client.Actions(); len(a) != 0 {
		t.Errorf("API calls for a static pod: %v", a)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestManagerForgetsPodsRemovedMeanwhile(t *testing.T) {
	client := fake.NewSimpleClientset()
	client.PrependReactor("delete", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(v1.Resource("pods"), "p", nil) // the node authorizer's answer
	})
	m := New(client, t.Logf)
	m.resync = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "u1", ResourceVersion: "1"}}
	m.PodTerminated(pod)
	countDeletes := func() int {
		n := 0
		for _, a := range client.Actions() {
			if a.GetVerb() == "delete" {
				n++
			}
		}
		return n
	}
	for deadline := time.Now().Add(10 * time.Second); countDeletes() == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // 20 resyncs: no second delete
	if deletes := countDeletes(); deletes != 1 {
		t.Errorf("%d deletes of a pod that is gone, want 1", deletes)
	}
}

// A status another component wrote over the agent's (the node lifecycle
// controller's NodeLost) is written back although the agent's own status
// did not change.
func TestManagerOverwritesStatusWrittenByOthers(t *testing.T) {
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "u1", ResourceVersion: "1"}}
	client := fake.NewSimpleClientset(pod)
	m := New(client, t.Logf)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	running := v1.PodStatus{Phase: v1.PodRunning, Conditions: []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionTrue}}}
	m.SetPodStatus(pod, running)
	get := func() *v1.Pod {
		p, err := client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	waitFor(t, "status written", func() bool { return get().Status.Phase == v1.PodRunning })

	lost := get()
	lost.ResourceVersion = "9"
	lost.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionUnknown, Reason: "NodeLost"}}
	if _, err := client.CoreV1().Pods("default").UpdateStatus(ctx, lost, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	m.PodUpdated(lost)
	waitFor(t, "NodeLost overwritten", func() bool {
		c := get().Status.Conditions
		return len(c) == 1 && c[0].Status == v1.ConditionTrue
	})

	// An older copy of the pod (an informer lagging the agent's write) is ignored.
	stale := lost.DeepCopy()
	stale.ResourceVersion = "2"
	m.PodUpdated(stale)
	time.Sleep(50 * time.Millisecond)
	if c := get().Status.Conditions; len(c) != 1 || c[0].Status != v1.ConditionTrue {
		t.Errorf("a stale pod copy changed the status: %+v", c)
	}
}
