package auth

import (
	"context"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// NodePods returns the pods bound to a node (spec.nodeName).
type NodePods interface {
	PodsOnNode(ctx context.Context, nodeName string) ([]corev1.Pod, error)
}

// NodeAuthorizer grants a node identity (system:node:<name> in group
// system:nodes) what its agent needs, like Kubernetes' Node authorizer
// plus the system:node role: read nodes and pods, write its own Node,
// Lease and the pods bound to it, record events, and read only the
// Secrets, ConfigMaps and ServiceAccounts referenced by pods bound to it
// (and request tokens for those ServiceAccounts).
type NodeAuthorizer struct{ Pods NodePods }

// NodeName returns the node a user speaks for, if it is a node identity.
func NodeName(u User) (string, bool) {
	name, ok := strings.CutPrefix(u.Name, NodeUserPrefix)
	return name, ok && name != "" && slices.Contains(u.Groups, GroupNodes)
}

// Authorize decides a node's request; false leaves the decision to RBAC.
func (a *NodeAuthorizer) Authorize(ctx context.Context, u User, req Request) bool {
	node, ok := NodeName(u)
	if !ok {
		return false
	}
	read := req.Verb == "get" || req.Verb == "list" || req.Verb == "watch"
	if req.Resource == "" {
		return req.Verb == "get" && nonResourceURLMatches(DiscoveryPaths, req.Path)
	}
	switch req.APIGroup + "/" + req.Resource {
	case "/nodes":
		if read || req.Verb == "create" {
			return true
		}
		return req.Name == node && (req.Verb == "update" || req.Verb == "patch" || req.Verb == "delete")
	case "coordination.k8s.io/leases":
		if req.Namespace != "kube-node-lease" {
			return false
		}
		return req.Verb == "create" || req.Name == node
	case "/events", "events.k8s.io/events":
		return req.Verb == "create" || req.Verb == "update" || req.Verb == "patch" || read
	case "/pods":
		switch {
		case read && req.Subresource == "":
			return true
		case req.Verb == "create" && req.Subresource == "": // mirror pods
			return true
		case req.Name == "":
			return false
		}
		// Its own pods: the status written (update, patch) and the pod
		// deleted, as kube's system:node role with NodeRestriction; never
		// the pod object itself (its spec is the user's).
		switch {
		case req.Subresource == "status" && (req.Verb == "update" || req.Verb == "patch"):
		case req.Subresource == "" && req.Verb == "delete":
		default:
			return false
		}
		return a.podOnNode(ctx, node, req.Namespace, req.Name)
	case "/services", "/namespaces":
		return read
	case "/secrets", "/configmaps", "/serviceaccounts":
		if req.Resource == "serviceaccounts" && req.Subresource == "token" {
			return req.Verb == "create" && a.referenced(ctx, node, req)
		}
		if req.Subresource != "" || !read {
			return false
		}
		return a.referenced(ctx, node, req)
	}
	return false
}

func (a *NodeAuthorizer) podOnNode(ctx context.Context, node, ns, name string) bool {
	pods, err := a.Pods.PodsOnNode(ctx, node)
	if err != nil {
		return false
	}
	for i := range pods {
		if pods[i].Namespace == ns && pods[i].Name == name {
			return true
		}
	}
	return false
}

// referenced: a get of (or a list/watch narrowed by a metadata.name field
// selector to) an object referenced by a pod bound to the node.
func (a *NodeAuthorizer) referenced(ctx context.Context, node string, req Request) bool {
	name := req.Name
	if req.Verb == "list" || req.Verb == "watch" {
		sel, err := fields.ParseSelector(req.FieldSelector)
		if err != nil {
			return false
		}
		v, ok := sel.RequiresExactMatch("metadata.name")
		if !ok || req.Namespace == "" {
			return false
		}
		name = v
	}
	if name == "" || req.Namespace == "" {
		return false
	}
	pods, err := a.Pods.PodsOnNode(ctx, node)
	if err != nil {
		return false
	}
	for i := range pods {
		if pods[i].Namespace != req.Namespace {
			continue
		}
		refs := PodReferences(&pods[i])
		if slices.Contains(refs[req.Resource], name) {
			return true
		}
	}
	return false
}

// PodReferences lists the secrets, configmaps and serviceaccounts
// (keyed by resource) a pod references: volumes (projected sources
// included), env and envFrom of every container, imagePullSecrets and its
// service account.
func PodReferences(pod *corev1.Pod) map[string][]string {
	refs := map[string][]string{}
	add := func(res, name string) {
		if name != "" && !slices.Contains(refs[res], name) {
			refs[res] = append(refs[res], name)
		}
	}
	add("serviceaccounts", pod.Spec.ServiceAccountName)
	for _, s := range pod.Spec.ImagePullSecrets {
		add("secrets", s.Name)
	}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.Secret != nil:
			add("secrets", v.Secret.SecretName)
		case v.ConfigMap != nil:
			add("configmaps", v.ConfigMap.Name)
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					add("secrets", s.Secret.Name)
				}
				if s.ConfigMap != nil {
					add("configmaps", s.ConfigMap.Name)
				}
			}
		}
	}
	var cs []corev1.Container
	cs = append(cs, pod.Spec.InitContainers...)
	cs = append(cs, pod.Spec.Containers...)
	for _, e := range pod.Spec.EphemeralContainers {
		cs = append(cs, corev1.Container(e.EphemeralContainerCommon))
	}
	for _, c := range cs {
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				add("secrets", e.SecretRef.Name)
			}
			if e.ConfigMapRef != nil {
				add("configmaps", e.ConfigMapRef.Name)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if e.ValueFrom.SecretKeyRef != nil {
				add("secrets", e.ValueFrom.SecretKeyRef.Name)
			}
			if e.ValueFrom.ConfigMapKeyRef != nil {
				add("configmaps", e.ValueFrom.ConfigMapKeyRef.Name)
			}
		}
	}
	return refs
}
