package apiserver

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// deleteAction is what a DELETE does to an existing object.
type deleteAction int

const (
	// deleteNow removes the object from storage.
	deleteNow deleteAction = iota
	// deleteMark stores the object with deletionTimestamp set (graceful
	// deletion or finalizers pending) and returns it.
	deleteMark
	// deletePending leaves a terminating object as it is and returns it.
	deletePending
)

// planDelete decides a DELETE purely, after kube's rest.BeforeDelete and
// the generic store (SEMANTICS.md §6). obj is a copy of the current object,
// changed in place for deleteMark. graceful is the strategy's
// CheckGracefulDelete answer (false for resources without one), which has
// already set opts.GracePeriodSeconds.
func planDelete(obj runtime.Object, acc metav1.Object, opts *metav1.DeleteOptions, graceful bool, now time.Time) deleteAction {
	pendingFinalizers := len(acc.GetFinalizers()) > 0 || len(specFinalizers(obj)) > 0
	if dt := acc.GetDeletionTimestamp(); dt != nil {
		cur := acc.GetDeletionGracePeriodSeconds()
		if cur == nil || *cur == 0 {
			// terminating without grace: only finalizers hold it
			if pendingFinalizers {
				return deletePending
			}
			return deleteNow
		}
		if opts.GracePeriodSeconds == nil || *opts.GracePeriodSeconds >= *cur {
			return deletePending // a repeat delete may only shorten the grace
		}
		period := *opts.GracePeriodSeconds
		if period < 0 {
			period = 0
		}
		newDT := metav1.NewTime(dt.Add(-time.Duration(*cur) * time.Second).Add(time.Duration(period) * time.Second))
		if newDT.Before(&metav1.Time{Time: now}) {
			newDT = metav1.NewTime(now)
		}
		acc.SetDeletionTimestamp(&newDT)
		acc.SetDeletionGracePeriodSeconds(&period)
		if period == 0 && !pendingFinalizers {
			return deleteNow
		}
		return deleteMark
	}
	if graceful && opts.GracePeriodSeconds != nil && *opts.GracePeriodSeconds > 0 {
		period := *opts.GracePeriodSeconds
		dt := metav1.NewTime(now.Add(time.Duration(period) * time.Second))
		acc.SetDeletionTimestamp(&dt)
		acc.SetDeletionGracePeriodSeconds(&period)
		if acc.GetGeneration() > 0 {
			acc.SetGeneration(acc.GetGeneration() + 1)
		}
		return deleteMark
	}
	if pendingFinalizers {
		zero := int64(0)
		dt := metav1.NewTime(now)
		acc.SetDeletionTimestamp(&dt)
		acc.SetDeletionGracePeriodSeconds(&zero)
		if ns, ok := obj.(*corev1.Namespace); ok {
			ns.Status.Phase = corev1.NamespaceTerminating
		}
		return deleteMark
	}
	return deleteNow
}
