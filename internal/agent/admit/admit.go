// Package admit decides, purely, whether the node agent may run a pod bound
// to its node: the kubelet's predicate admission (pkg/kubelet/lifecycle
// predicate.go with the scheduler's AdmissionCheck). A pod that does not
// fit is never started; the agent marks it Failed with the verdict's reason
// and message.
package admit

import (
	"fmt"
	"maps"
	goruntime "runtime"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/agent/plan"
	"github.com/peapod/peapod/internal/scheduler/fit"
)

// Reasons of a rejection, as the kubelet spells them.
const (
	ReasonOutOfCPU              = "OutOfcpu"
	ReasonOutOfMemory           = "OutOfmemory"
	ReasonOutOfEphemeralStorage = "OutOfephemeral-storage"
	ReasonOutOfPods             = "OutOfpods"
	// ReasonNodeAffinity, ReasonNodePorts and ReasonTaintToleration are the
	// names of the scheduler plugins whose check failed (the kubelet's
	// PredicateFailureError.PredicateName).
	ReasonNodeAffinity    = "NodeAffinity"
	ReasonNodePorts       = "NodePorts"
	ReasonTaintToleration = "TaintToleration"
	ReasonOSSelector      = "PodOSSelectorNodeLabelDoesNotMatch"
	ReasonOSNotSupported  = "PodOSNotSupported"
	// ReasonEvicted rejects pods while the node is under pressure (the
	// kubelet's eviction manager admission).
	ReasonEvicted = "Evicted"
	// RejectedPrefix starts the status message of a rejected pod (the
	// kubelet's rejectPod); the event carries the message without it.
	RejectedPrefix = "Pod was rejected: "
)

// Node is what admission needs of the node: its allocatable resources
// (including the pods count), labels and taints.
type Node struct {
	Name        string
	Allocatable v1.ResourceList
	Labels      map[string]string
	Taints      []v1.Taint
	// Pressure lists the node's pressure conditions that are True
	// (MemoryPressure, DiskPressure, PIDPressure).
	Pressure []v1.NodeConditionType
	// AppArmor reports that the host's kernel enforces AppArmor.
	AppArmor bool
}

// Verdict is the decision on one pod. A rejected pod has a Reason and a
// Message (without RejectedPrefix).
type Verdict struct {
	Admit   bool
	Reason  string
	Message string
}

// Pod decides whether pod may run on node next to admitted, the pods the
// agent admitted before that have not finished. Only the first failed
// check is reported, in the kubelet's order: node pressure (the eviction
// manager's handler), the OS label and field, the
// pods count, cpu, memory, ephemeral storage and other resources the node
// offers, the node affinity (nodeSelector and required node affinity),
// host ports, NoExecute taints (not for static pods: the kubelet
// checks taints only for pods of the API server), then AppArmor.
func Pod(node Node, admitted []*v1.Pod, pod *v1.Pod) Verdict {
	if v := pressure(node.Pressure, pod); !v.Admit {
		return v
	}
	if os, ok := pod.Labels[v1.LabelOSStable]; ok && os != nodeOS(node) {
		return reject(ReasonOSSelector, "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label")
	}
	if pod.Spec.OS != nil && string(pod.Spec.OS.Name) != goruntime.GOOS {
		return reject(ReasonOSNotSupported, "Failed to admit pod as the OS field doesn't match node OS")
	}
	fn := fit.NewNode(&v1.Node{})
	fn.Allocatable = fit.NewResource(node.Allocatable)
	if q, ok := node.Allocatable[v1.ResourcePods]; ok {
		fn.AllowedPods = q.Value()
	}
	for _, p := range admitted {
		fn.AddPod(fit.NewPod(p))
	}
	fp := fit.NewPod(pod)
	if v := resources(fn, fp.Requests, node.Allocatable); !v.Admit {
		return v
	}
	n := &v1.Node{}
	n.Name, n.Labels = node.Name, node.Labels
	if !fit.NodeAffinity(fp, &fit.Node{Node: n}).Fits() {
		return predicate(ReasonNodeAffinity, fit.ReasonNodeSelector)
	}
	if !fit.HostPorts(fp, fn).Fits() {
		return predicate(ReasonNodePorts, fit.ReasonHostPorts)
	}
	if !plan.IsStaticPod(pod) && untoleratedNoExecute(node.Taints, pod.Spec.Tolerations) {
		return predicate(ReasonTaintToleration, "node(s) had taints that the pod didn't tolerate")
	}
	return appArmor(pod, node.AppArmor)
}

// resources is the kubelet's fitsRequest: the pods count first, then each
// requested resource against allocatable minus what the admitted pods
// request. Extended resources the node does not offer are left out (the
// kubelet's removeMissingExtendedResources).
func resources(n *fit.Node, want fit.Resource, alloc v1.ResourceList) Verdict {
	if int64(n.Pods)+1 > n.AllowedPods {
		return insufficient(v1.ResourcePods, 1, int64(n.Pods), n.AllowedPods)
	}
	for _, r := range []struct {
		name              v1.ResourceName
		want, used, total int64
	}{
		{v1.ResourceCPU, want.MilliCPU, n.Requested.MilliCPU, n.Allocatable.MilliCPU},
		{v1.ResourceMemory, want.Memory, n.Requested.Memory, n.Allocatable.Memory},
		{v1.ResourceEphemeralStorage, want.EphemeralStorage, n.Requested.EphemeralStorage, n.Allocatable.EphemeralStorage},
	} {
		if r.want > 0 && r.want > r.total-r.used {
			return insufficient(r.name, r.want, r.used, r.total)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want.Scalar)) {
		if _, offered := alloc[name]; !offered && isExtended(name) {
			continue
		}
		v, used, total := want.Scalar[name], n.Requested.Scalar[name], n.Allocatable.Scalar[name]
		if v > 0 && v > total-used {
			return insufficient(name, v, used, total)
		}
	}
	return Verdict{Admit: true}
}

// isExtended reports an extended resource (a domain-prefixed name outside
// kubernetes.io, not hugepages).
func isExtended(name v1.ResourceName) bool {
	s := string(name)
	return strings.Contains(s, "/") && !strings.Contains(s, "kubernetes.io/") && !strings.HasPrefix(s, v1.ResourceHugePagesPrefix)
}

func untoleratedNoExecute(taints []v1.Taint, tols []v1.Toleration) bool {
	for i := range taints {
		t := &taints[i]
		if t.Effect != v1.TaintEffectNoExecute {
			continue
		}
		if !slices.ContainsFunc(tols, func(tol v1.Toleration) bool { return tol.ToleratesTaint(t) }) {
			return true
		}
	}
	return false
}

func nodeOS(node Node) string {
	if os, ok := node.Labels[v1.LabelOSStable]; ok && os == goruntime.GOOS {
		return os
	}
	return goruntime.GOOS
}

func reject(reason, message string) Verdict {
	return Verdict{Reason: reason, Message: message}
}

// insufficient is the kubelet's InsufficientResourceError: reason
// OutOf<resource>, amounts in milli-cores for cpu and bytes otherwise.
func insufficient(name v1.ResourceName, requested, used, capacity int64) Verdict {
	return reject("OutOf"+string(name),
		fmt.Sprintf("Node didn't have enough resource: %s, requested: %d, used: %d, capacity: %d", name, requested, used, capacity))
}

// predicate is the kubelet's PredicateFailureError.
func predicate(name, desc string) Verdict {
	return reject(name, fmt.Sprintf("Predicate %s failed: %s", name, desc))
}

// pressure is the kubelet eviction manager's admission: under memory
// pressure alone only BestEffort pods that do not tolerate the
// memory-pressure taint are rejected; under any other pressure every pod
// is. Static pods (critical in the kubelet) are always admitted.
func pressure(conds []v1.NodeConditionType, pod *v1.Pod) Verdict {
	if len(conds) == 0 || plan.IsStaticPod(pod) {
		return Verdict{Admit: true}
	}
	if len(conds) == 1 && conds[0] == v1.NodeMemoryPressure {
		taint := v1.Taint{Key: v1.TaintNodeMemoryPressure, Effect: v1.TaintEffectNoSchedule}
		if !bestEffort(pod) || slices.ContainsFunc(pod.Spec.Tolerations, func(t v1.Toleration) bool { return t.ToleratesTaint(&taint) }) {
			return Verdict{Admit: true}
		}
	}
	return reject(ReasonEvicted, fmt.Sprintf("The node had condition: %v. ", conds))
}

// bestEffort reports a pod whose containers request and limit no cpu or
// memory (QoS class BestEffort).
func bestEffort(pod *v1.Pod) bool {
	for _, cs := range [][]v1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, l := range []v1.ResourceList{c.Resources.Requests, c.Resources.Limits} {
				for _, name := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
					if q, ok := l[name]; ok && !q.IsZero() {
						return false
					}
				}
			}
		}
	}
	return true
}
