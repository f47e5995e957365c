// Package clusterrolebinding is the registry entry for
// rbac.authorization.k8s.io/v1 clusterrolebindings.
package clusterrolebinding

import (
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
	"github.com/peapod/peapod/internal/registry/role"
	"github.com/peapod/peapod/internal/registry/rolebinding"
)

// NewResource returns the clusterrolebindings resource.
func NewResource() *registry.Resource { return NewResourceWithClock(time.Now) }

// NewResourceWithClock returns the clusterrolebindings resource with an injected clock.
func NewResourceWithClock(now func() time.Time) *registry.Resource {
	return &registry.Resource{
		GVR:          rbacv1.SchemeGroupVersion.WithResource("clusterrolebindings"),
		Kind:         "ClusterRoleBinding",
		ListKind:     "ClusterRoleBindingList",
		SingularName: "clusterrolebinding",
		New:          func() runtime.Object { return &rbacv1.ClusterRoleBinding{} },
		NewList:      func() runtime.Object { return &rbacv1.ClusterRoleBindingList{} },
		Strategy: &role.FuncStrategy{
			Table: &registry.TableConvertor{
				GVK:     rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding"),
				Columns: rolebinding.Columns(),
				Row: func(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
					b := obj.(*rbacv1.ClusterRoleBinding)
					return rolebinding.Row(b.Name, b.CreationTimestamp, b.RoleRef, b.Subjects, now), nil
				},
				Now: now,
			},
			Meta:    func(obj runtime.Object) *metav1.ObjectMeta { return &obj.(*rbacv1.ClusterRoleBinding).ObjectMeta },
			Default: func(obj runtime.Object) { rolebinding.DefaultSubjects(obj.(*rbacv1.ClusterRoleBinding).Subjects) },
			ValidateFn: func(obj runtime.Object) field.ErrorList {
				return Validate(obj.(*rbacv1.ClusterRoleBinding))
			},
			ValidateUpdateFn: func(obj, old runtime.Object) field.ErrorList {
				return rolebinding.ValidateRoleRefUpdate(obj.(*rbacv1.ClusterRoleBinding).RoleRef, old.(*rbacv1.ClusterRoleBinding).RoleRef)
			},
		},
	}
}

// Validate checks a ClusterRoleBinding: roleRef must be a ClusterRole and
// ServiceAccount subjects need a namespace.
func Validate(b *rbacv1.ClusterRoleBinding) field.ErrorList {
	errs := registry.ValidateObjectMeta(&b.ObjectMeta, false, role.NameIsPathSegment)
	errs = append(errs, rolebinding.ValidateRoleRef(b.RoleRef, []string{"ClusterRole"})...)
	return append(errs, rolebinding.ValidateSubjects(b.Subjects, false)...)
}
