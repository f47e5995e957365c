package scheduler

import (
	"encoding/json"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peapod/peapod/internal/scheduler/fit"
)

// scheduledFalsePatch decides the pods/status strategic merge patch that
// sets PodScheduled=False with reason and message; ok is false when the
// pod already has exactly that condition. lastTransitionTime is now unless
// the condition was already False.
func scheduledFalsePatch(pod *corev1.Pod, reason, msg string, now time.Time) (patch []byte, ok bool) {
	transition := metav1.NewTime(now.Truncate(time.Second))
	for _, c := range pod.Status.Conditions {
		if c.Type != corev1.PodScheduled {
			continue
		}
		if c.Status == corev1.ConditionFalse {
			if c.Reason == reason && c.Message == msg {
				return nil, false
			}
			if !c.LastTransitionTime.IsZero() {
				transition = c.LastTransitionTime
			}
		}
	}
	cond := corev1.PodCondition{
		Type:               corev1.PodScheduled,
		Status:             corev1.ConditionFalse,
		Reason:             reason,
		Message:            msg,
		LastTransitionTime: transition,
	}
	b, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": []corev1.PodCondition{cond}}})
	if err != nil {
		return nil, false
	}
	return b, true
}

// schedulingPropertiesChanged reports whether a node update can make a
// pending pod fit (so heartbeats alone do not retry every pending pod):
// labels, taints (including those its conditions stand for), cordon or
// allocatable changed.
func schedulingPropertiesChanged(old, cur *corev1.Node) bool {
	return !reflect.DeepEqual(old.Labels, cur.Labels) ||
		!reflect.DeepEqual(old.Spec.Taints, cur.Spec.Taints) ||
		old.Spec.Unschedulable != cur.Spec.Unschedulable ||
		!reflect.DeepEqual(old.Status.Allocatable, cur.Status.Allocatable) ||
		!reflect.DeepEqual(fit.ConditionTaints(old), fit.ConditionTaints(cur))
}
