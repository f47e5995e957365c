// Package role is the registry entry for rbac.authorization.k8s.io/v1
// roles; it also holds what the four RBAC resources share (strategy, rule
// validation, name rule).
package role

import (
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
)

// NewResource returns the roles resource.
func NewResource() *registry.Resource { return NewResourceWithClock(time.Now) }

// NewResourceWithClock returns the roles resource with an injected clock.
func NewResourceWithClock(now func() time.Time) *registry.Resource {
	return &registry.Resource{
		GVR:          rbacv1.SchemeGroupVersion.WithResource("roles"),
		Kind:         "Role",
		ListKind:     "RoleList",
		SingularName: "role",
		Namespaced:   true,
		New:          func() runtime.Object { return &rbacv1.Role{} },
		NewList:      func() runtime.Object { return &rbacv1.RoleList{} },
		Strategy: &FuncStrategy{
			Table: &registry.TableConvertor{
				GVK:     rbacv1.SchemeGroupVersion.WithKind("Role"),
				Columns: CreatedAtColumns(),
				Row: func(obj runtime.Object, _ time.Time) (metav1.TableRow, error) {
					r := obj.(*rbacv1.Role)
					return metav1.TableRow{Cells: []interface{}{r.Name, CreatedAt(r.CreationTimestamp)}}, nil
				},
				Now: now,
			},
			Meta:       func(obj runtime.Object) *metav1.ObjectMeta { return &obj.(*rbacv1.Role).ObjectMeta },
			ValidateFn: func(obj runtime.Object) field.ErrorList { return Validate(obj.(*rbacv1.Role)) },
		},
	}
}

// CreatedAtColumns are NAME CREATED AT, as kube's role tables.
func CreatedAtColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Created At", Type: "date", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
	}
}
