package auth

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type fakeNodePods []corev1.Pod

var _ NodePods = fakeNodePods(nil)

func (f fakeNodePods) PodsOnNode(_ context.Context, node string) ([]corev1.Pod, error) {
	var out []corev1.Pod
	for _, p := range f {
		if p.Spec.NodeName == node {
			out = append(out, p)
		}
	}
	return out, nil
}

func TestNodeAuthorizer(t *testing.T) {
	pods := fakeNodePods{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "mine"}, Spec: corev1.PodSpec{NodeName: "n1", ServiceAccountName: "robot",
			Volumes: []corev1.Volume{
				{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "vol-secret"}}},
				{Name: "p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}}}}}}},
			},
			Containers: []corev1.Container{{Name: "c",
				Env:     []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "env-secret"}}}}},
				EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "env-cm"}}}}}},
		}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "theirs"}, Spec: corev1.PodSpec{NodeName: "n2",
			Volumes: []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "other-secret"}}}}}},
	}
	az := Authorizer{Node: &NodeAuthorizer{Pods: pods}, RBAC: &RBAC{Source: &fakeRBAC{}}}
	n1 := User{Name: "system:node:n1", Groups: []string{GroupNodes, GroupAuthenticated}}
	notNode := User{Name: "system:node:n1", Groups: []string{GroupAuthenticated}} // name alone is not enough
	get := func(res, ns, name string) Request {
		return Request{Verb: "get", Resource: res, Namespace: ns, Name: name}
	}
	cases := []struct {
		name string
		u    User
		req  Request
		want bool
	}{
		{"volume secret", n1, get("secrets", "ns", "vol-secret"), true},
		{"env secret", n1, get("secrets", "ns", "env-secret"), true},
		{"envFrom configmap", n1, get("configmaps", "ns", "env-cm"), true},
		{"projected configmap", n1, get("configmaps", "ns", "kube-root-ca.crt"), true},
		{"service account", n1, get("serviceaccounts", "ns", "robot"), true},
		{"token for its pod's SA", n1, Request{Verb: "create", Resource: "serviceaccounts", Subresource: "token", Namespace: "ns", Name: "robot"}, true},
		{"token for another SA", n1, Request{Verb: "create", Resource: "serviceaccounts", Subresource: "token", Namespace: "ns", Name: "default"}, false},
		{"secret of another node's pod", n1, get("secrets", "ns", "other-secret"), false},
		{"secret in another namespace", n1, get("secrets", "other", "vol-secret"), false},
		{"unreferenced secret", n1, get("secrets", "ns", "nope"), false},
		{"list secrets", n1, Request{Verb: "list", Resource: "secrets", Namespace: "ns"}, false},
		{"watch one referenced secret", n1, Request{Verb: "watch", Resource: "secrets", Namespace: "ns", FieldSelector: "metadata.name=vol-secret"}, true},
		{"list one referenced secret", n1, Request{Verb: "list", Resource: "secrets", Namespace: "ns", FieldSelector: "metadata.name=vol-secret"}, true},
		{"watch unreferenced secret", n1, Request{Verb: "watch", Resource: "secrets", Namespace: "ns", FieldSelector: "metadata.name=nope"}, false},
		{"watch across namespaces", n1, Request{Verb: "watch", Resource: "secrets", FieldSelector: "metadata.name=vol-secret"}, false},
		{"update referenced secret", n1, Request{Verb: "update", Resource: "secrets", Namespace: "ns", Name: "vol-secret"}, false},
		{"not a node", notNode, get("secrets", "ns", "vol-secret"), false},
		{"own node status", n1, Request{Verb: "update", Resource: "nodes", Subresource: "status", Name: "n1"}, true},
		{"other node status", n1, Request{Verb: "update", Resource: "nodes", Subresource: "status", Name: "n2"}, false},
		{"list nodes", n1, Request{Verb: "list", Resource: "nodes"}, true},
		{"own lease", n1, Request{Verb: "update", APIGroup: "coordination.k8s.io", Resource: "leases", Namespace: "kube-node-lease", Name: "n1"}, true},
		{"other lease", n1, Request{Verb: "update", APIGroup: "coordination.k8s.io", Resource: "leases", Namespace: "kube-node-lease", Name: "n2"}, false},
		{"watch pods", n1, Request{Verb: "watch", Resource: "pods", FieldSelector: "spec.nodeName=n1"}, true},
		{"own pod status", n1, Request{Verb: "update", Resource: "pods", Subresource: "status", Namespace: "ns", Name: "mine"}, true},
		{"other pod status", n1, Request{Verb: "update", Resource: "pods", Subresource: "status", Namespace: "ns", Name: "theirs"}, false},
		{"delete own pod", n1, Request{Verb: "delete", Resource: "pods", Namespace: "ns", Name: "mine"}, true},
		{"delete other pod", n1, Request{Verb: "delete", Resource: "pods", Namespace: "ns", Name: "theirs"}, false},
		{"no update of its own pod's object (kube's NodeRestriction)", n1, Request{Verb: "update", Resource: "pods", Namespace: "ns", Name: "mine"}, false},
		{"no patch of its own pod's object", n1, Request{Verb: "patch", Resource: "pods", Namespace: "ns", Name: "mine"}, false},
		{"patch own pod status", n1, Request{Verb: "patch", Resource: "pods", Subresource: "status", Namespace: "ns", Name: "mine"}, true},
		{"get own pod", n1, get("pods", "ns", "mine"), true},
		{"no ephemeral containers on own pod", n1, Request{Verb: "patch", Resource: "pods", Subresource: "ephemeralcontainers", Namespace: "ns", Name: "mine"}, false},
		{"no ephemeral containers update", n1, Request{Verb: "update", Resource: "pods", Subresource: "ephemeralcontainers", Namespace: "ns", Name: "mine"}, false},
		{"no ephemeral containers get", n1, Request{Verb: "get", Resource: "pods", Subresource: "ephemeralcontainers", Namespace: "ns", Name: "mine"}, false},
		{"exec into pods", n1, Request{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "ns", Name: "mine"}, false},
		{"events", n1, Request{Verb: "create", Resource: "events", Namespace: "ns"}, true},
		{"discovery", n1, Request{Verb: "get", Path: "/api"}, true},
		{"rbac objects", n1, Request{Verb: "list", APIGroup: "rbac.authorization.k8s.io", Resource: "clusterroles"}, false},
	}
	for _, c := range cases {
		if got := az.Authorize(context.Background(), c.u, c.req); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
