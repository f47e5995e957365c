package fit

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Preemption outcomes kube reports per node when no pod can be evicted:
// peapod does not preempt, and with no lower-priority victims Kubernetes
// says the same.
const (
	PreemptionNotHelpful = "Preemption is not helpful for scheduling"
	PreemptionNoVictims  = "No preemption victims found for incoming pod"
	// NoNodesAvailable is the message when the cluster has no nodes.
	NoNodesAvailable = "no nodes available to schedule pods"
)

// Message is the FailedScheduling event and PodScheduled condition
// message of kube-scheduler 1.33 for a pod that fits none of allNodes:
//
//	0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling..
//
// Reasons are counted over the nodes, rendered "count reason", sorted as
// strings and joined with ", ". The preemption part ends in ".." exactly
// as Kubernetes prints it (the post-filter message, which ends in a
// period, is appended with the " %v." separator).
func Message(pod *corev1.Pod, allNodes int, rejected []Status) string {
	if allNodes == 0 {
		return NoNodesAvailable
	}
	counts := map[string]int{}
	preempt := map[string]int{}
	for _, s := range rejected {
		for _, r := range s.Reasons {
			counts[r]++
		}
		if s.Unresolvable {
			preempt[PreemptionNotHelpful]++
		} else {
			preempt[PreemptionNoVictims]++
		}
	}
	msg := fmt.Sprintf("0/%d nodes are available:", allNodes)
	if h := histogram(counts); h != "" {
		msg += " " + h + "."
	}
	var post string
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == corev1.PreemptNever {
		post = "not eligible due to preemptionPolicy=Never."
	} else {
		post = fmt.Sprintf("preemption: 0/%d nodes are available: %s.", allNodes, histogram(preempt))
	}
	return msg + " " + post + "."
}

func histogram(counts map[string]int) string {
	parts := make([]string, 0, len(counts))
	for r, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
