// Package rolebinding is the registry entry for rbac.authorization.k8s.io/v1
// rolebindings; it also holds what both binding resources share (roleRef
// and subject validation, defaults, table columns).
package rolebinding

import (
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
	"github.com/peapod/peapod/internal/registry/role"
)

// NewResource returns the rolebindings resource.
func NewResource() *registry.Resource { return NewResourceWithClock(time.Now) }

// NewResourceWithClock returns the rolebindings resource with an injected clock.
func NewResourceWithClock(now func() time.Time) *registry.Resource {
	return &registry.Resource{
		GVR:          rbacv1.SchemeGroupVersion.WithResource("rolebindings"),
		Kind:         "RoleBinding",
		ListKind:     "RoleBindingList",
		SingularName: "rolebinding",
		Namespaced:   true,
		New:          func() runtime.Object { return &rbacv1.RoleBinding{} },
		NewList:      func() runtime.Object { return &rbacv1.RoleBindingList{} },
		Strategy: &role.FuncStrategy{
			Table: &registry.TableConvertor{
				GVK:     rbacv1.SchemeGroupVersion.WithKind("RoleBinding"),
				Columns: Columns(),
				Row: func(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
					b := obj.(*rbacv1.RoleBinding)
					return Row(b.Name, b.CreationTimestamp, b.RoleRef, b.Subjects, now), nil
				},
				Now: now,
			},
			Meta:    func(obj runtime.Object) *metav1.ObjectMeta { return &obj.(*rbacv1.RoleBinding).ObjectMeta },
			Default: func(obj runtime.Object) { DefaultSubjects(obj.(*rbacv1.RoleBinding).Subjects) },
			ValidateFn: func(obj runtime.Object) field.ErrorList {
				return Validate(obj.(*rbacv1.RoleBinding))
			},
			ValidateUpdateFn: func(obj, old runtime.Object) field.ErrorList {
				return ValidateRoleRefUpdate(obj.(*rbacv1.RoleBinding).RoleRef, old.(*rbacv1.RoleBinding).RoleRef)
			},
		},
	}
}

// Validate checks a RoleBinding.
func Validate(b *rbacv1.RoleBinding) field.ErrorList {
	errs := registry.ValidateObjectMeta(&b.ObjectMeta, true, role.NameIsPathSegment)
	errs = append(errs, ValidateRoleRef(b.RoleRef, []string{"Role", "ClusterRole"})...)
	return append(errs, ValidateSubjects(b.Subjects, true)...)
}

// ValidateRoleRef checks the roleRef: the RBAC group, one of kinds, a name.
func ValidateRoleRef(r rbacv1.RoleRef, kinds []string) field.ErrorList {
	var errs field.ErrorList
	fld := field.NewPath("roleRef")
	if r.APIGroup != rbacv1.GroupName {
		errs = append(errs, field.NotSupported(fld.Child("apiGroup"), r.APIGroup, []string{rbacv1.GroupName}))
	}
	ok := false
	for _, k := range kinds {
		ok = ok || r.Kind == k
	}
	if !ok {
		errs = append(errs, field.NotSupported(fld.Child("kind"), r.Kind, kinds))
	}
	if r.Name == "" {
		errs = append(errs, field.Required(fld.Child("name"), ""))
	} else {
		for _, msg := range role.NameIsPathSegment(r.Name, false) {
			errs = append(errs, field.Invalid(fld.Child("name"), r.Name, msg))
		}
	}
	return errs
}

// ValidateRoleRefUpdate: roleRef is immutable.
func ValidateRoleRefUpdate(r, old rbacv1.RoleRef) field.ErrorList {
	if r != old {
		return field.ErrorList{field.Invalid(field.NewPath("roleRef"), r, "cannot change roleRef")}
	}
	return nil
}

// ValidateSubjects is Kubernetes' ValidateRoleBindingSubject over every
// subject; cluster-scoped bindings need the namespace of ServiceAccounts.
func ValidateSubjects(subjects []rbacv1.Subject, namespaced bool) field.ErrorList {
	var errs field.ErrorList
	for i, s := range subjects {
		p := field.NewPath("subjects").Index(i)
		if s.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			if s.APIGroup != "" {
				errs = append(errs, field.NotSupported(p.Child("apiGroup"), s.APIGroup, []string{""}))
			}
			if s.Name != "" {
				for _, msg := range apimachineryvalidation.ValidateServiceAccountName(s.Name, false) {
					errs = append(errs, field.Invalid(p.Child("name"), s.Name, msg))
				}
			}
			if s.Namespace == "" && !namespaced {
				errs = append(errs, field.Required(p.Child("namespace"), ""))
			}
		case rbacv1.UserKind, rbacv1.GroupKind:
			if s.APIGroup != rbacv1.GroupName {
				errs = append(errs, field.NotSupported(p.Child("apiGroup"), s.APIGroup, []string{rbacv1.GroupName}))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("kind"), s.Kind, []string{rbacv1.ServiceAccountKind, rbacv1.UserKind, rbacv1.GroupKind}))
		}
	}
	return errs
}

// DefaultSubjects sets apiGroup rbac.authorization.k8s.io on User and
// Group subjects that have none (SetDefaults_Subject).
func DefaultSubjects(subjects []rbacv1.Subject) {
	for i := range subjects {
		if subjects[i].APIGroup == "" && (subjects[i].Kind == rbacv1.UserKind || subjects[i].Kind == rbacv1.GroupKind) {
			subjects[i].APIGroup = rbacv1.GroupName
		}
	}
}

// Columns are NAME ROLE AGE, and USERS GROUPS SERVICEACCOUNTS with -o wide.
func Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		registry.Column("Role", "string", 0, rbacv1.RoleBinding{}.SwaggerDoc()["roleRef"]),
		registry.AgeColumn(),
		registry.Column("Users", "string", 1, "Users in the roleBinding"),
		registry.Column("Groups", "string", 1, "Groups in the roleBinding"),
		registry.Column("ServiceAccounts", "string", 1, "ServiceAccounts in the roleBinding"),
	}
}

// Row renders one binding.
func Row(name string, created metav1.Time, ref rbacv1.RoleRef, subjects []rbacv1.Subject, now time.Time) metav1.TableRow {
	var users, groups, sas []string
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			users = append(users, s.Name)
		case rbacv1.GroupKind:
			groups = append(groups, s.Name)
		case rbacv1.ServiceAccountKind:
			sas = append(sas, s.Namespace+"/"+s.Name)
		}
	}
	return metav1.TableRow{Cells: []interface{}{
		name, ref.Kind + "/" + ref.Name, registry.HumanAge(created, now),
		strings.Join(users, ", "), strings.Join(groups, ", "), strings.Join(sas, ", "),
	}}
}
