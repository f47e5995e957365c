// Package namespace is the namespace controller: when a namespace is being
// deleted it deletes every namespaced object in it, waits until they are
// gone, then removes the "kubernetes" finalizer through
// namespaces/<name>/finalize so the API server deletes the namespace.
package namespace

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Content is what one deletion pass found and did in a namespace.
type Content struct {
	// DiscoveryErr: the namespaced resources could not all be listed.
	DiscoveryErr error
	// DeleteErrs: resource -> error of listing or deleting it.
	DeleteErrs map[string]error
	// Remaining: resource -> objects still present after deleting.
	Remaining map[string]int
	// Finalizers: finalizer -> objects holding it.
	Finalizers map[string]int
}

// Done says whether the namespace is empty and nothing failed.
func (c Content) Done() bool {
	if c.DiscoveryErr != nil || len(c.DeleteErrs) > 0 {
		return false
	}
	for _, n := range c.Remaining {
		if n > 0 {
			return false
		}
	}
	return true
}

// Decision is what to do with a namespace after a deletion pass.
type Decision struct {
	// Finalize: remove the "kubernetes" finalizer now.
	Finalize bool
	// Conditions: the status conditions to store (nil = leave them).
	Conditions []corev1.NamespaceCondition
	// Retry: run again later (content remains or something failed).
	Retry bool
}

// NeedsDeletion says whether ns is terminating and still holds the
// "kubernetes" finalizer, i.e. is this controller's to empty.
func NeedsDeletion(ns *corev1.Namespace) bool {
	if ns == nil || ns.DeletionTimestamp == nil {
		return false
	}
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			return true
		}
	}
	return false
}

// WithoutFinalizer is spec.finalizers minus "kubernetes".
func WithoutFinalizer(fs []corev1.FinalizerName) []corev1.FinalizerName {
	out := make([]corev1.FinalizerName, 0, len(fs))
	for _, f := range fs {
		if f != corev1.FinalizerKubernetes {
			out = append(out, f)
		}
	}
	return out
}

// Decide turns a deletion pass into conditions (kube's wording and
// reasons) and whether to finalize. now stamps changed conditions.
func Decide(ns *corev1.Namespace, c Content, now time.Time) Decision {
	d := Decision{Finalize: c.Done(), Retry: !c.Done()}
	t := metav1.NewTime(now)
	cond := func(typ corev1.NamespaceConditionType, bad bool, badReason, okReason, msg string) corev1.NamespaceCondition {
		if bad {
			return corev1.NamespaceCondition{Type: typ, Status: corev1.ConditionTrue, Reason: badReason, Message: msg}
		}
		return corev1.NamespaceCondition{Type: typ, Status: corev1.ConditionFalse, Reason: okReason, Message: "All resources successfully discovered"}
	}
	discovery := cond(corev1.NamespaceDeletionDiscoveryFailure, c.DiscoveryErr != nil, "DiscoveryFailed", "ResourcesDiscovered", errString(c.DiscoveryErr))
	content := cond(corev1.NamespaceDeletionContentFailure, len(c.DeleteErrs) > 0, "ContentDeletionFailed", "ContentDeleted", joinErrs(c.DeleteErrs))
	content.Message = orDefault(content, "All content successfully deleted, may be waiting on finalization")
	remaining := cond(corev1.NamespaceContentRemaining, hasAny(c.Remaining), "SomeResourcesRemain", "ContentRemoved", remainingMsg(c.Remaining))
	remaining.Message = orDefault(remaining, "All content successfully removed")
	fins := cond(corev1.NamespaceFinalizersRemaining, hasAny(c.Finalizers), "SomeFinalizersRemain", "ContentHasNoFinalizers", finalizersMsg(c.Finalizers))
	fins.Message = orDefault(fins, "All content-preserving finalizers finished")
	want := []corev1.NamespaceCondition{discovery, content, remaining, fins}
	changed := false
	for i := range want {
		old := findCondition(ns.Status.Conditions, want[i].Type)
		if old != nil && old.Status == want[i].Status && old.Reason == want[i].Reason && old.Message == want[i].Message {
			want[i].LastTransitionTime = old.LastTransitionTime
			continue
		}
		want[i].LastTransitionTime = t
		changed = true
	}
	if changed {
		// keep conditions of other types (set by someone else)
		for _, c := range ns.Status.Conditions {
			if !ownType(c.Type) {
				want = append(want, c)
			}
		}
		d.Conditions = want
	}
	return d
}

func ownType(t corev1.NamespaceConditionType) bool {
	switch t {
	case corev1.NamespaceDeletionDiscoveryFailure, corev1.NamespaceDeletionContentFailure,
		corev1.NamespaceContentRemaining, corev1.NamespaceFinalizersRemaining:
		return true
	}
	return false
}

func orDefault(c corev1.NamespaceCondition, msg string) string {
	if c.Status == corev1.ConditionTrue {
		return c.Message
	}
	return msg
}

func findCondition(cs []corev1.NamespaceCondition, t corev1.NamespaceConditionType) *corev1.NamespaceCondition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func hasAny(m map[string]int) bool {
	for _, n := range m {
		if n > 0 {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func joinErrs(m map[string]error) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s: %v", k, m[k]))
	}
	return "Failed to delete all resource types, " + fmt.Sprint(len(m)) + " remaining: " + strings.Join(parts, ", ")
}

// remainingMsg is kube's "Some resources are remaining: pods. has 2
// resource instances".
func remainingMsg(m map[string]int) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s has %d resource instances", k, m[k]))
		}
	}
	return "Some resources are remaining: " + strings.Join(parts, ", ")
}

func finalizersMsg(m map[string]int) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s in %d resource instances", k, m[k]))
		}
	}
	return "Some content in the namespace has finalizers remaining: " + strings.Join(parts, ", ")
}
