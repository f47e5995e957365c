// Package lease is the registry entry for coordination.k8s.io/v1 leases
// (node heartbeats in kube-node-lease, leader election).
package lease

import (
	"context"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
)

// NewResource returns the leases resource (wall-clock AGE).
func NewResource() *registry.Resource { return NewResourceWithClock(time.Now) }

// NewResourceWithClock returns the leases resource with an injected clock.
func NewResourceWithClock(now func() time.Time) *registry.Resource {
	return &registry.Resource{
		GVR:          coordinationv1.SchemeGroupVersion.WithResource("leases"),
		Kind:         "Lease",
		ListKind:     "LeaseList",
		SingularName: "lease",
		Namespaced:   true,
		New:          func() runtime.Object { return &coordinationv1.Lease{} },
		NewList:      func() runtime.Object { return &coordinationv1.LeaseList{} },
		Strategy: &Strategy{registry.BaseStrategy{Table: &registry.TableConvertor{
			GVK: coordinationv1.SchemeGroupVersion.WithKind("Lease"),
			Columns: []metav1.TableColumnDefinition{
				registry.NameColumn(),
				registry.Column("Holder", "string", 0, coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]),
				registry.AgeColumn(),
			},
			Row: row,
			Now: now,
		}, CreateOnUpdate: true}},
	}
}

// Strategy implements registry.Strategy for leases.
type Strategy struct{ registry.BaseStrategy }

var (
	_ registry.Strategy    = (*Strategy)(nil)
	_ registry.FieldSetter = (*Strategy)(nil)
)

// PrepareForCreate drops spec.strategy and spec.preferredHolder, as
// kube-apiserver does while CoordinatedLeaderElection (alpha) is off.
func (*Strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	l := obj.(*coordinationv1.Lease)
	l.Spec.Strategy = nil
	l.Spec.PreferredHolder = nil
	l.Generation = 0 // leases have no generation in Kubernetes
}

// PrepareForUpdate drops spec.strategy and spec.preferredHolder unless the
// stored lease already uses them.
func (*Strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	l, o := obj.(*coordinationv1.Lease), old.(*coordinationv1.Lease)
	if o.Spec.Strategy == nil && o.Spec.PreferredHolder == nil {
		l.Spec.Strategy = nil
		l.Spec.PreferredHolder = nil
	}
}

// Validate checks a new lease.
func (*Strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return Validate(obj.(*coordinationv1.Lease))
}

// ValidateUpdate checks an update.
func (*Strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	l, o := obj.(*coordinationv1.Lease), old.(*coordinationv1.Lease)
	return append(registry.ValidateObjectMetaUpdate(&l.ObjectMeta, &o.ObjectMeta), validateSpec(&l.Spec)...)
}

func row(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	l := obj.(*coordinationv1.Lease)
	holder := "<unknown>"
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	return metav1.TableRow{Cells: []interface{}{l.Name, holder, registry.HumanAge(l.CreationTimestamp, now)}}, nil
}

// Validate is Kubernetes' ValidateLease.
func Validate(l *coordinationv1.Lease) field.ErrorList {
	errs := registry.ValidateObjectMeta(&l.ObjectMeta, true, registry.NameIsDNSSubdomain)
	return append(errs, validateSpec(&l.Spec)...)
}

func validateSpec(s *coordinationv1.LeaseSpec) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	if s.LeaseDurationSeconds != nil && *s.LeaseDurationSeconds <= 0 {
		errs = append(errs, field.Invalid(p.Child("leaseDurationSeconds"), *s.LeaseDurationSeconds, "must be greater than 0"))
	}
	if s.LeaseTransitions != nil && *s.LeaseTransitions < 0 {
		errs = append(errs, field.Invalid(p.Child("leaseTransitions"), *s.LeaseTransitions, "must be greater than or equal to 0"))
	}
	if s.Strategy != nil {
		switch *s.Strategy {
		case coordinationv1.OldestEmulationVersion:
		default:
			errs = append(errs, field.NotSupported(p.Child("strategy"), *s.Strategy, []string{string(coordinationv1.OldestEmulationVersion)}))
		}
	}
	if s.PreferredHolder != nil && *s.PreferredHolder != "" && (s.Strategy == nil || *s.Strategy == "") {
		errs = append(errs, field.Forbidden(p.Child("preferredHolder"), "may only be specified if `strategy` is defined"))
	}
	return errs
}
