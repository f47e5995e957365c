package pod

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/peapod/peapod/internal/registry"
)

// NodeUnreachablePodReason is the status.reason of pods on a lost node.
const NodeUnreachablePodReason = "NodeLost"

func columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		registry.Column("Ready", "string", 0, "The aggregate readiness state of this pod for accepting traffic."),
		registry.Column("Status", "string", 0, "The aggregate status of the containers in this pod."),
		registry.Column("Restarts", "string", 0, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
		registry.AgeColumn(),
		registry.Column("IP", "string", 1, corev1.PodStatus{}.SwaggerDoc()["podIP"]),
		registry.Column("Node", "string", 1, corev1.PodSpec{}.SwaggerDoc()["nodeName"]),
		registry.Column("Nominated Node", "string", 1, corev1.PodStatus{}.SwaggerDoc()["nominatedNodeName"]),
		registry.Column("Readiness Gates", "string", 1, corev1.PodSpec{}.SwaggerDoc()["readinessGates"]),
	}
}

// row is kube-apiserver's printPod (always wide).
func row(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	p := obj.(*corev1.Pod)
	s := Summarize(p)
	restarts := strconv.Itoa(s.Restarts)
	if s.Restarts != 0 && !s.LastRestart.IsZero() {
		restarts = fmt.Sprintf("%d (%s ago)", s.Restarts, registry.HumanAge(s.LastRestart, now))
	}
	r := metav1.TableRow{Cells: []interface{}{
		p.Name, fmt.Sprintf("%d/%d", s.Ready, s.Total), s.Status, restarts,
		registry.HumanAge(p.CreationTimestamp, now),
		orNone(s.IP), orNone(p.Spec.NodeName), orNone(p.Status.NominatedNodeName), s.ReadinessGates,
	}}
	switch p.Status.Phase {
	case corev1.PodSucceeded:
		r.Conditions = []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue,
			Reason: string(corev1.PodSucceeded), Message: "The pod has completed successfully."}}
	case corev1.PodFailed:
		r.Conditions = []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue,
			Reason: string(corev1.PodFailed), Message: "The pod failed."}}
	}
	return r, nil
}

// Summary is what `kubectl get pods` shows of a pod.
type Summary struct {
	Ready, Total   int
	Status         string // the STATUS column: Running, Init:1/2, CrashLoopBackOff, Terminating...
	Restarts       int
	LastRestart    metav1.Time // zero when unknown
	IP             string
	ReadinessGates string // "<none>" or "true/total"
}

// Summarize computes the STATUS, READY and RESTARTS columns exactly as
// kube-apiserver's printPod.
func Summarize(p *corev1.Pod) Summary {
	s := Summary{Total: len(p.Spec.Containers)}
	restarts, sidecarRestarts := 0, 0
	var lastRestart, lastSidecarRestart metav1.Time

	reason := string(p.Status.Phase)
	if p.Status.Reason != "" {
		reason = p.Status.Reason
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			reason = corev1.PodReasonSchedulingGated
		}
	}

	initContainers := map[string]*corev1.Container{}
	for i := range p.Spec.InitContainers {
		c := &p.Spec.InitContainers[i]
		initContainers[c.Name] = c
		if isSidecar(c) {
			s.Total++
		}
	}

	later := func(cur *metav1.Time, cs corev1.ContainerStatus) {
		if t := cs.LastTerminationState.Terminated; t != nil && cur.Before(&t.FinishedAt) {
			*cur = t.FinishedAt
		}
	}

	initializing := false
	for i, cs := range p.Status.InitContainerStatuses {
		restarts += int(cs.RestartCount)
		later(&lastRestart, cs)
		sidecar := isSidecar(initContainers[cs.Name])
		if sidecar {
			sidecarRestarts += int(cs.RestartCount)
			later(&lastSidecarRestart, cs)
		}
		switch {
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0:
			continue
		case sidecar && cs.Started != nil && *cs.Started:
			if cs.Ready {
				s.Ready++
			}
			continue
		case cs.State.Terminated != nil:
			t := cs.State.Terminated
			switch {
			case t.Reason != "":
				reason = "Init:" + t.Reason
			case t.Signal != 0:
				reason = fmt.Sprintf("Init:Signal:%d", t.Signal)
			default:
				reason = fmt.Sprintf("Init:ExitCode:%d", t.ExitCode)
			}
			initializing = true
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "" && cs.State.Waiting.Reason != "PodInitializing":
			reason = "Init:" + cs.State.Waiting.Reason
			initializing = true
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, len(p.Spec.InitContainers))
			initializing = true
		}
		break
	}

	if !initializing || conditionTrue(p, corev1.PodInitialized) {
		restarts = sidecarRestarts
		lastRestart = lastSidecarRestart
		hasRunning := false
		for i := len(p.Status.ContainerStatuses) - 1; i >= 0; i-- {
			cs := p.Status.ContainerStatuses[i]
			restarts += int(cs.RestartCount)
			later(&lastRestart, cs)
			switch {
			case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
				reason = cs.State.Waiting.Reason
			case cs.State.Terminated != nil && cs.State.Terminated.Reason != "":
				reason = cs.State.Terminated.Reason
			case cs.State.Terminated != nil:
				if cs.State.Terminated.Signal != 0 {
					reason = fmt.Sprintf("Signal:%d", cs.State.Terminated.Signal)
				} else {
					reason = fmt.Sprintf("ExitCode:%d", cs.State.Terminated.ExitCode)
				}
			case cs.Ready && cs.State.Running != nil:
				hasRunning = true
				s.Ready++
			}
		}
		if reason == "Completed" && hasRunning {
			if conditionTrue(p, corev1.PodReady) {
				reason = "Running"
			} else {
				reason = "NotReady"
			}
		}
	}

	terminal := p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	if p.DeletionTimestamp != nil && p.Status.Reason == NodeUnreachablePodReason {
		reason = "Unknown"
	} else if p.DeletionTimestamp != nil && !terminal {
		reason = "Terminating"
	}
	s.Status = reason
	s.Restarts = restarts
	s.LastRestart = lastRestart

	s.IP = p.Status.PodIP
	if len(p.Status.PodIPs) > 0 {
		s.IP = p.Status.PodIPs[0].IP
	}
	s.ReadinessGates = "<none>"
	if len(p.Spec.ReadinessGates) > 0 {
		trueCount := 0
		for _, g := range p.Spec.ReadinessGates {
			for _, c := range p.Status.Conditions {
				if c.Type == g.ConditionType {
					if c.Status == corev1.ConditionTrue {
						trueCount++
					}
					break
				}
			}
		}
		s.ReadinessGates = fmt.Sprintf("%d/%d", trueCount, len(p.Spec.ReadinessGates))
	}
	return s
}

func isSidecar(c *corev1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func conditionTrue(p *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
