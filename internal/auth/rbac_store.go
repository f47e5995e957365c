package auth

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/peapod/peapod/internal/storage"
)

// StoreRBAC reads RBAC objects and node pods from storage. Its lists are
// quorum reads, which storage serves from the watch cache once the cache
// has caught up with etcd's current revision (one count-only etcd request),
// so decisions see every write that completed before the request.
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

// PodsOnNode implements NodePods: a pod list narrowed by a spec.nodeName
// field selector, so storage filters while it reads (under the watch
// cache's lock) instead of copying every pod of the cluster into the list.
func (s StoreRBAC) PodsOnNode(ctx context.Context, node string) ([]corev1.Pod, error) {
	var l corev1.PodList
	opts := storage.ListOptions{Recursive: true, Predicate: storage.SelectionPredicate{
		Field:    fields.OneTermEqualSelector("spec.nodeName", node),
		GetAttrs: podNodeAttrs,
	}}
	if err := s.Store.GetList(ctx, "/registry/pods/", opts, &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

// podNodeAttrs returns the one field PodsOnNode selects on.
func podNodeAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil, fmt.Errorf("not a pod: %T", obj)
	}
	return nil, fields.Set{"spec.nodeName": p.Spec.NodeName}, nil
}
