// Package serviceaccount is the registry entry for core/v1 serviceaccounts.
package serviceaccount

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
)

// NewResource returns the serviceaccounts resource (wall-clock AGE), with
// the token subresource.
func NewResource() *registry.Resource { return NewResourceWithClock(time.Now) }

// NewResourceWithClock returns the serviceaccounts resource with an injected clock.
func NewResourceWithClock(now func() time.Time) *registry.Resource {
	return &registry.Resource{
		GVR:          schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"},
		Kind:         "ServiceAccount",
		ListKind:     "ServiceAccountList",
		SingularName: "serviceaccount",
		ShortNames:   []string{"sa"},
		Namespaced:   true,
		New:          func() runtime.Object { return &corev1.ServiceAccount{} },
		NewList:      func() runtime.Object { return &corev1.ServiceAccountList{} },
		Subresources: []string{"token"},
		Strategy: &Strategy{registry.BaseStrategy{Table: &registry.TableConvertor{
			GVK: corev1.SchemeGroupVersion.WithKind("ServiceAccount"),
			Columns: []metav1.TableColumnDefinition{
				registry.NameColumn(),
				registry.Column("Secrets", "string", 0, corev1.ServiceAccount{}.SwaggerDoc()["secrets"]),
				registry.AgeColumn(),
			},
			Row: row,
			Now: now,
		}}},
	}
}

// Strategy implements registry.Strategy for serviceaccounts.
type Strategy struct{ registry.BaseStrategy }

var (
	_ registry.Strategy    = (*Strategy)(nil)
	_ registry.FieldSetter = (*Strategy)(nil)
)

// PrepareForCreate clears metadata.generation (unused for
// serviceaccounts in Kubernetes).
func (*Strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	obj.(*corev1.ServiceAccount).Generation = 0
}

// Validate checks a new serviceaccount: metadata (DNS subdomain name).
func (*Strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return Validate(obj.(*corev1.ServiceAccount))
}

// ValidateUpdate checks an update.
func (*Strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	sa, o := obj.(*corev1.ServiceAccount), old.(*corev1.ServiceAccount)
	return append(registry.ValidateCoreObjectMetaUpdate(&sa.ObjectMeta, &o.ObjectMeta), Validate(sa)...)
}

func row(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	sa := obj.(*corev1.ServiceAccount)
	return metav1.TableRow{Cells: []interface{}{
		sa.Name, int64(len(sa.Secrets)), registry.HumanAge(sa.CreationTimestamp, now),
	}}, nil
}

// Validate is Kubernetes' ValidateServiceAccount: metadata only.
func Validate(sa *corev1.ServiceAccount) field.ErrorList {
	return registry.ValidateCoreObjectMeta(&sa.ObjectMeta, true, registry.NameIsDNSSubdomain)
}
