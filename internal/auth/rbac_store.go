package auth

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/peapod/peapod/internal/storage"
)

// StoreRBAC reads RBAC objects and node pods straight from storage. Every
// authorization of a non-admin request reads etcd; a watch-fed cache is
// the next step if that shows in profiles.
type StoreRBAC struct{ Store storage.Interface }

var (
	_ RBACSource = StoreRBAC{}
	_ NodePods   = StoreRBAC{}
)

// ClusterRoleBindings implements RBACSource.
func (s StoreRBAC) ClusterRoleBindings(ctx context.Context) ([]rbacv1.ClusterRoleBinding, error) {
	var l rbacv1.ClusterRoleBindingList
	err := s.Store.GetList(ctx, "/registry/clusterrolebindings/", storage.ListOptions{Recursive: true}, &l)
	return l.Items, err
}

// RoleBindings implements RBACSource.
func (s StoreRBAC) RoleBindings(ctx context.Context, ns string) ([]rbacv1.RoleBinding, error) {
	var l rbacv1.RoleBindingList
	err := s.Store.GetList(ctx, "/registry/rolebindings/"+ns+"/", storage.ListOptions{Recursive: true}, &l)
	return l.Items, err
}

// ClusterRole implements RBACSource.
func (s StoreRBAC) ClusterRole(ctx context.Context, name string) (*rbacv1.ClusterRole, error) {
	r := &rbacv1.ClusterRole{}
	if err := s.Store.Get(ctx, "/registry/clusterroles/"+name, "", r, false); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return r, nil
}

// Role implements RBACSource.
func (s StoreRBAC) Role(ctx context.Context, ns, name string) (*rbacv1.Role, error) {
	r := &rbacv1.Role{}
	if err := s.Store.Get(ctx, "/registry/roles/"+ns+"/"+name, "", r, false); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return r, nil
}

// PodsOnNode implements NodePods (a full pod list filtered by
// spec.nodeName).
func (s StoreRBAC) PodsOnNode(ctx context.Context, node string) ([]corev1.Pod, error) {
	var l corev1.PodList
	if err := s.Store.GetList(ctx, "/registry/pods/", storage.ListOptions{Recursive: true}, &l); err != nil {
		return nil, err
	}
	out := l.Items[:0]
	for _, p := range l.Items {
		if p.Spec.NodeName == node {
			out = append(out, p)
		}
	}
	return out, nil
}
