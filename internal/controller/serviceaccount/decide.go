// Package serviceaccount keeps a "default" ServiceAccount in every active
// namespace and the kube-root-ca.crt ConfigMap (key ca.crt, the API
// server's CA) in every namespace, as kube's serviceaccounts controller
// and root-ca-cert-publisher do.
package serviceaccount

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Names of the objects kept.
const (
	DefaultName  = "default"
	RootCAName   = "kube-root-ca.crt"
	RootCAKey    = "ca.crt"
	descriptionK = "kubernetes.io/description"
	descriptionV = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. " +
		"No other usage is guaranteed across distributions of Kubernetes clusters."
)

// Plan is what a namespace needs.
type Plan struct {
	CreateSA bool
	// CreateCM / UpdateCM carry the ConfigMap to write (UpdateCM keeps the
	// current one's metadata).
	CreateCM *corev1.ConfigMap
	UpdateCM *corev1.ConfigMap
}

// Decide compares a namespace's default SA and root CA ConfigMap (nil =
// missing) with what it should hold. Terminating or missing namespaces
// get nothing (the API refuses creates there).
func Decide(ns *corev1.Namespace, sa *corev1.ServiceAccount, cm *corev1.ConfigMap, caPEM []byte) Plan {
	var p Plan
	if ns == nil || ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		return p
	}
	p.CreateSA = sa == nil
	want := map[string]string{RootCAKey: string(caPEM)}
	switch {
	case cm == nil:
		p.CreateCM = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: RootCAName, Namespace: ns.Name, Annotations: map[string]string{descriptionK: descriptionV}},
			Data:       want,
		}
	case len(cm.Data) != 1 || cm.Data[RootCAKey] != string(caPEM) || len(cm.BinaryData) > 0 || cm.Annotations[descriptionK] != descriptionV:
		u := cm.DeepCopy()
		u.Data, u.BinaryData = want, nil
		if u.Annotations == nil {
			u.Annotations = map[string]string{}
		}
		u.Annotations[descriptionK] = descriptionV
		p.UpdateCM = u
	}
	return p
}
