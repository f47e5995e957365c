package apiserver

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestPlanDelete(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(d)); return &t }
	cases := []struct {
		name      string
		meta      metav1.ObjectMeta
		grace     *int64
		graceful  bool
		want      deleteAction
		wantDT    *metav1.Time
		wantGrace *int64
	}{
		{name: "plain", want: deleteNow},
		{name: "graceful 30", grace: ptr.To[int64](30), graceful: true, want: deleteMark, wantDT: at(30 * time.Second), wantGrace: ptr.To[int64](30)},
		{name: "graceful 0", grace: ptr.To[int64](0), graceful: true, want: deleteNow},
		{name: "finalizers hold", meta: metav1.ObjectMeta{Finalizers: []string{"f"}}, want: deleteMark, wantDT: at(0), wantGrace: ptr.To[int64](0)},
		{name: "finalizers hold graceful 0", meta: metav1.ObjectMeta{Finalizers: []string{"f"}}, grace: ptr.To[int64](0), graceful: true, want: deleteMark, wantDT: at(0)},
		{name: "repeat longer is pending", meta: metav1.ObjectMeta{DeletionTimestamp: at(10 * time.Second), DeletionGracePeriodSeconds: ptr.To[int64](10)}, grace: ptr.To[int64](30), want: deletePending},
		{name: "repeat without grace is pending", meta: metav1.ObjectMeta{DeletionTimestamp: at(10 * time.Second), DeletionGracePeriodSeconds: ptr.To[int64](10)}, want: deletePending},
		{name: "repeat shorter", meta: metav1.ObjectMeta{DeletionTimestamp: at(10 * time.Second), DeletionGracePeriodSeconds: ptr.To[int64](10)}, grace: ptr.To[int64](4), want: deleteMark, wantDT: at(4 * time.Second), wantGrace: ptr.To[int64](4)},
		{name: "repeat shorter never in the past", meta: metav1.ObjectMeta{DeletionTimestamp: at(-5 * time.Second), DeletionGracePeriodSeconds: ptr.To[int64](30)}, grace: ptr.To[int64](1), want: deleteMark, wantDT: at(0), wantGrace: ptr.To[int64](1)},
		{name: "repeat zero deletes", meta: metav1.ObjectMeta{DeletionTimestamp: at(10 * time.Second), DeletionGracePeriodSeconds: ptr.To[int64](10)}, grace: ptr.To[int64](0), want: deleteNow},
		{name: "terminating finalized object with finalizers", meta: metav1.ObjectMeta{DeletionTimestamp: at(0), DeletionGracePeriodSeconds: ptr.To[int64](0), Finalizers: []string{"f"}}, want: deletePending},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: c.meta}
			pod.Generation = 1
			got := planDelete(pod, pod, &metav1.DeleteOptions{GracePeriodSeconds: c.grace}, c.graceful, now)
			if got != c.want {
				t.Fatalf("action %v, want %v", got, c.want)
			}
			if c.wantDT != nil && !pod.DeletionTimestamp.Equal(c.wantDT) {
				t.Errorf("deletionTimestamp %v, want %v", pod.DeletionTimestamp, c.wantDT)
			}
			if c.wantGrace != nil && (pod.DeletionGracePeriodSeconds == nil || *pod.DeletionGracePeriodSeconds != *c.wantGrace) {
				t.Errorf("grace %v, want %d", pod.DeletionGracePeriodSeconds, *c.wantGrace)
			}
		})
	}
	ns := &corev1.Namespace{Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}}
	if planDelete(ns, ns, &metav1.DeleteOptions{}, false, now) != deleteMark || ns.Status.Phase != corev1.NamespaceTerminating {
		t.Fatalf("namespace with spec.finalizers should turn Terminating: %+v", ns.Status)
	}
}
