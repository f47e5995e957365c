// Package podgc deletes pods nothing else will: pods bound to nodes that
// no longer exist, terminating pods that were never scheduled, and
// (optionally) the oldest terminated pods above a threshold.
package podgc

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// Reason says why a pod is collected.
type Reason string

// Reasons.
const (
	ReasonOrphaned               Reason = "orphaned"                // bound to a missing node
	ReasonUnscheduledTerminating Reason = "unscheduled-terminating" // deleting, never bound
	ReasonTerminated             Reason = "terminated-over-threshold"
)

// Victim is one pod to delete and why.
type Victim struct {
	Pod    *corev1.Pod
	Reason Reason
}

// Decide picks the pods to delete. nodeExists reports whether a node is
// known; threshold caps Succeeded/Failed pods (oldest deleted first; 0 =
// no cap). Each pod appears at most once.
func Decide(pods []*corev1.Pod, nodeExists func(string) bool, threshold int) []Victim {
	var out []Victim
	seen := map[*corev1.Pod]bool{}
	var terminated []*corev1.Pod
	for _, p := range pods {
		switch {
		case p.Spec.NodeName != "" && !nodeExists(p.Spec.NodeName):
			out = append(out, Victim{p, ReasonOrphaned})
			seen[p] = true
		case p.Spec.NodeName == "" && p.DeletionTimestamp != nil:
			out = append(out, Victim{p, ReasonUnscheduledTerminating})
			seen[p] = true
		}
		if (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed) && p.DeletionTimestamp == nil {
			terminated = append(terminated, p)
		}
	}
	if threshold <= 0 || len(terminated) <= threshold {
		return out
	}
	sort.SliceStable(terminated, func(i, j int) bool {
		a, b := terminated[i].CreationTimestamp, terminated[j].CreationTimestamp
		if a.Equal(&b) {
			return terminated[i].Namespace+"/"+terminated[i].Name < terminated[j].Namespace+"/"+terminated[j].Name
		}
		return a.Before(&b)
	})
	excess := len(terminated) - threshold
	for _, p := range terminated {
		if excess == 0 {
			break
		}
		excess--
		if !seen[p] {
			out = append(out, Victim{p, ReasonTerminated})
		}
	}
	return out
}
