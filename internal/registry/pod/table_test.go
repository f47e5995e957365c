package pod

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var tableNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func waiting(reason string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
}

func term(code int32, reason string) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}}
}

func runningState() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
}

func lastTerm(ago time.Duration) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: metav1.NewTime(tableNow.Add(-ago))}}
}

func TestSummarize(t *testing.T) {
	twoInits := func(p *corev1.Pod) {
		p.Spec.InitContainers = []corev1.Container{container("i1", "x"), container("i2", "x")}
	}
	cases := []struct {
		name                string
		mutate              func(p *corev1.Pod)
		status, ready, rsts string
	}{
		{"pending", func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }, "Pending", "0/1", "0"},
		{"container creating", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: waiting("ContainerCreating")}}
		}, "ContainerCreating", "0/1", "0"},
		{"running ready", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Ready: true, State: runningState()}}
		}, "Running", "1/1", "0"},
		{"crash loop with restarts ago", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: 4,
				State: waiting("CrashLoopBackOff"), LastTerminationState: lastTerm(90 * time.Second)}}
		}, "CrashLoopBackOff", "0/1", "4 (90s ago)"},
		{"completed", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodSucceeded
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: term(0, "Completed")}}
		}, "Completed", "0/1", "0"},
		{"error", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: term(2, "Error")}}
		}, "Error", "0/1", "0"},
		{"exit code without reason", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: term(3, "")}}
		}, "ExitCode:3", "0/1", "0"},
		{"signal without reason", func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app",
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Signal: 9}}}}
		}, "Signal:9", "0/1", "0"},
		{"init 0/2", func(p *corev1.Pod) {
			twoInits(p)
			p.Status.Phase = corev1.PodPending
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "i1", State: runningState()}, {Name: "i2", State: waiting("PodInitializing")}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: waiting("PodInitializing")}}
		}, "Init:0/2", "0/1", "0"},
		{"init 1/2", func(p *corev1.Pod) {
			twoInits(p)
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "i1", State: term(0, "Completed")}, {Name: "i2", State: runningState()}}
		}, "Init:1/2", "0/1", "0"},
		{"init error", func(p *corev1.Pod) {
			twoInits(p)
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "i1", State: term(1, "Error")}, {Name: "i2", State: waiting("PodInitializing")}}
		}, "Init:Error", "0/1", "0"},
		{"init exit code", func(p *corev1.Pod) {
			twoInits(p)
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "i1", State: term(5, "")}}
		}, "Init:ExitCode:5", "0/1", "0"},
		{"init crash loop counts init restarts", func(p *corev1.Pod) {
			twoInits(p)
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "i1", RestartCount: 3,
				State: waiting("CrashLoopBackOff"), LastTerminationState: lastTerm(5 * time.Minute)}}
		}, "Init:CrashLoopBackOff", "0/1", "3 (5m ago)"},
		{"pod initializing after init", func(p *corev1.Pod) {
			twoInits(p)
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "i1", State: term(0, "Completed")}, {Name: "i2", State: term(0, "Completed")}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: waiting("PodInitializing")}}
		}, "PodInitializing", "0/1", "0"},
		{"sidecar counts toward ready and total", func(p *corev1.Pod) {
			sc := container("side", "x")
			sc.RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
			p.Spec.InitContainers = []corev1.Container{sc}
			p.Status.Phase = corev1.PodRunning
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "side", Started: ptr(true), Ready: true, State: runningState(), RestartCount: 1}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Ready: true, State: runningState()}}
		}, "Running", "2/2", "1"},
		{"completed but another running and ready", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, container("b", "x"))
			p.Status.Phase = corev1.PodRunning
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: term(0, "Completed")}, {Name: "b", Ready: true, State: runningState()}}
		}, "Running", "1/2", "0"},
		{"completed but another running, not ready", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, container("b", "x"))
			p.Status.Phase = corev1.PodRunning
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: term(0, "Completed")}, {Name: "b", Ready: true, State: runningState()}}
		}, "NotReady", "1/2", "0"},
		{"terminating", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.DeletionTimestamp = ptr(metav1.NewTime(tableNow))
		}, "Terminating", "0/1", "0"},
		{"terminal pod being deleted is not Terminating", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodSucceeded
			p.DeletionTimestamp = ptr(metav1.NewTime(tableNow))
		}, "Succeeded", "0/1", "0"},
		{"node lost", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodUnknown
			p.Status.Reason = NodeUnreachablePodReason
		}, "NodeLost", "0/1", "0"},
		{"node lost and deleted", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.Reason = NodeUnreachablePodReason
			p.DeletionTimestamp = ptr(metav1.NewTime(tableNow))
		}, "Unknown", "0/1", "0"},
		{"scheduling gated", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}}
		}, "SchedulingGated", "0/1", "0"},
		{"evicted reason", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Status.Reason = "Evicted"
		}, "Evicted", "0/1", "0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := validPod()
			c.mutate(p)
			r, err := row(p, tableNow)
			if err != nil {
				t.Fatal(err)
			}
			if r.Cells[1] != c.ready || r.Cells[2] != c.status || r.Cells[3] != c.rsts {
				t.Errorf("READY %v STATUS %v RESTARTS %v, want %s %s %s", r.Cells[1], r.Cells[2], r.Cells[3], c.ready, c.status, c.rsts)
			}
		})
	}
}

func TestPodTable(t *testing.T) {
	res := NewResourceWithClock(func() time.Time { return tableNow })
	p := validPod()
	p.CreationTimestamp = metav1.NewTime(tableNow.Add(-40 * time.Second))
	p.Spec.NodeName = "node1"
	p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/ready"}, {ConditionType: "example.com/other"}}
	p.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, PodIP: "10.0.0.7",
		Conditions: []corev1.PodCondition{{Type: "example.com/ready", Status: corev1.ConditionTrue}}}
	tbl, err := res.Strategy.ConvertToTable(context.Background(), &corev1.PodList{Items: []corev1.Pod{*p}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range tbl.ColumnDefinitions {
		names = append(names, c.Name)
	}
	wantCols := []string{"Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"}
	if len(names) != len(wantCols) {
		t.Fatalf("columns %v", names)
	}
	for i := range wantCols {
		if names[i] != wantCols[i] || (i >= 5) != (tbl.ColumnDefinitions[i].Priority == 1) {
			t.Errorf("column %d = %+v", i, tbl.ColumnDefinitions[i])
		}
	}
	want := []interface{}{"web", "0/1", "Succeeded", "0", "40s", "10.0.0.7", "node1", "<none>", "1/2"}
	for i, w := range want {
		if tbl.Rows[0].Cells[i] != w {
			t.Errorf("cell %d = %v, want %v", i, tbl.Rows[0].Cells[i], w)
		}
	}
	if len(tbl.Rows[0].Conditions) != 1 || tbl.Rows[0].Conditions[0].Type != metav1.RowCompleted {
		t.Errorf("row conditions = %+v", tbl.Rows[0].Conditions)
	}
}
