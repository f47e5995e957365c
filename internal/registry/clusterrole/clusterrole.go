// Package clusterrole is the registry entry for rbac.authorization.k8s.io/v1
// clusterroles.
package clusterrole

import (
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
	"github.com/peapod/peapod/internal/registry/role"
)

// NewResource returns the clusterroles resource.
func NewResource() *registry.Resource { return NewResourceWithClock(time.Now) }

// NewResourceWithClock returns the clusterroles resource with an injected clock.
func NewResourceWithClock(now func() time.Time) *registry.Resource {
	return &registry.Resource{
		GVR:          rbacv1.SchemeGroupVersion.WithResource("clusterroles"),
		Kind:         "ClusterRole",
		ListKind:     "ClusterRoleList",
		SingularName: "clusterrole",
		New:          func() runtime.Object { return &rbacv1.ClusterRole{} },
		NewList:      func() runtime.Object { return &rbacv1.ClusterRoleList{} },
		Strategy: &role.FuncStrategy{
			Table: &registry.TableConvertor{
				GVK:     rbacv1.SchemeGroupVersion.WithKind("ClusterRole"),
				Columns: role.CreatedAtColumns(),
				Row: func(obj runtime.Object, _ time.Time) (metav1.TableRow, error) {
					r := obj.(*rbacv1.ClusterRole)
					return metav1.TableRow{Cells: []interface{}{r.Name, role.CreatedAt(r.CreationTimestamp)}}, nil
				},
				Now: now,
			},
			Meta:       func(obj runtime.Object) *metav1.ObjectMeta { return &obj.(*rbacv1.ClusterRole).ObjectMeta },
			ValidateFn: func(obj runtime.Object) field.ErrorList { return Validate(obj.(*rbacv1.ClusterRole)) },
		},
	}
}

// Validate checks a ClusterRole (aggregationRule selectors are accepted
// but not acted upon).
func Validate(r *rbacv1.ClusterRole) field.ErrorList {
	errs := registry.ValidateObjectMeta(&r.ObjectMeta, false, role.NameIsPathSegment)
	return append(errs, role.ValidateRules(r.Rules, false, field.NewPath("rules"))...)
}
