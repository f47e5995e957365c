// Package podpreset is the registry entry for settings.k8s.io/v1alpha1
// podpresets: validation as upstream's pkg/apis/settings/validation, the
// core/v1 defaults of what a preset injects, and NAME (SELECTOR) AGE
// tables. The admission plugin that applies presets to pods is in
// internal/apiserver/admission/podpreset.go.
package podpreset

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	settingsv1alpha1 "github.com/peapod/peapod/internal/apis/settings/v1alpha1"
	"github.com/peapod/peapod/internal/registry"
	"github.com/peapod/peapod/internal/registry/pod"
)

// NewResource returns the podpresets resource (wall-clock AGE).
func NewResource() *registry.Resource { return NewResourceWithClock(time.Now) }

// NewResourceWithClock returns the podpresets resource with an injected
// clock for the AGE column.
func NewResourceWithClock(now func() time.Time) *registry.Resource {
	return &registry.Resource{
		GVR:          settingsv1alpha1.SchemeGroupVersion.WithResource("podpresets"),
		Kind:         "PodPreset",
		ListKind:     "PodPresetList",
		SingularName: "podpreset",
		Namespaced:   true,
		New:          func() runtime.Object { return &settingsv1alpha1.PodPreset{} },
		NewList:      func() runtime.Object { return &settingsv1alpha1.PodPresetList{} },
		Strategy: &Strategy{registry.BaseStrategy{Table: &registry.TableConvertor{
			GVK: settingsv1alpha1.SchemeGroupVersion.WithKind("PodPreset"),
			Columns: []metav1.TableColumnDefinition{
				registry.NameColumn(),
				registry.Column("Selector", "string", 1, "Selector is a label query over pods; matching pods get the preset at creation."),
				registry.AgeColumn(),
			},
			Row: row,
			Now: now,
		}}},
	}
}

// Strategy implements registry.Strategy for podpresets.
type Strategy struct{ registry.BaseStrategy }

var (
	_ registry.Strategy    = (*Strategy)(nil)
	_ registry.FieldSetter = (*Strategy)(nil)
)

// PrepareForCreate fills in the core/v1 defaults of the injected volumes
// and env (settingsv1alpha1.SetDefaults), so presets compare equal to pod
// entries that were defaulted the same way.
func (*Strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	settingsv1alpha1.SetDefaults(obj.(*settingsv1alpha1.PodPreset))
}

// PrepareForUpdate defaults the new object as on create; a preset has no
// status to preserve.
func (*Strategy) PrepareForUpdate(_ context.Context, obj, _ runtime.Object) {
	settingsv1alpha1.SetDefaults(obj.(*settingsv1alpha1.PodPreset))
}

// Validate checks a new preset.
func (*Strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return Validate(obj.(*settingsv1alpha1.PodPreset))
}

// ValidateUpdate checks an update: metadata rules plus the full spec (the
// spec is mutable; pods already admitted keep what they got).
func (*Strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return ValidateUpdate(obj.(*settingsv1alpha1.PodPreset), old.(*settingsv1alpha1.PodPreset))
}

func row(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	pp := obj.(*settingsv1alpha1.PodPreset)
	return metav1.TableRow{Cells: []interface{}{
		pp.Name, selectorString(&pp.Spec.Selector), registry.HumanAge(pp.CreationTimestamp, now),
	}}, nil
}

// selectorString renders the selector as kubectl does ("<none>" for an
// empty one, which matches every pod).
func selectorString(s *metav1.LabelSelector) string {
	if len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0 {
		return "<none>"
	}
	return metav1.FormatLabelSelector(s)
}

// Validate is upstream's ValidatePodPreset: metadata (namespaced,
// DNS-subdomain name), a valid selector, at least one of the four lists,
// and the env, envFrom, volumes and volumeMounts rules of core/v1 (mounts
// must name one of the preset's own volumes). Every error is returned.
func Validate(pp *settingsv1alpha1.PodPreset) field.ErrorList {
	errs := registry.ValidateObjectMeta(&pp.ObjectMeta, true, registry.NameIsDNSSubdomain)
	return append(errs, ValidateSpec(&pp.Spec, field.NewPath("spec"))...)
}

// ValidateUpdate is upstream's ValidatePodPresetUpdate.
func ValidateUpdate(pp, old *settingsv1alpha1.PodPreset) field.ErrorList {
	errs := registry.ValidateObjectMetaUpdate(&pp.ObjectMeta, &old.ObjectMeta)
	return append(errs, ValidateSpec(&pp.Spec, field.NewPath("spec"))...)
}

// ValidateSpec is upstream's ValidatePodPresetSpec.
func ValidateSpec(spec *settingsv1alpha1.PodPresetSpec, fldPath *field.Path) field.ErrorList {
	selPath := fldPath.Child("selector")
	errs := metav1validation.ValidateLabelSelector(&spec.Selector, metav1validation.LabelSelectorValidationOptions{}, selPath)
	if len(errs) == 0 {
		// Whatever ValidateLabelSelector lets through must also parse, or
		// the admission plugin could not use it.
		if _, err := metav1.LabelSelectorAsSelector(&spec.Selector); err != nil {
			errs = append(errs, field.Invalid(selPath, metav1.FormatLabelSelector(&spec.Selector), err.Error()))
		}
	}

	if len(spec.Env) == 0 && len(spec.EnvFrom) == 0 && len(spec.Volumes) == 0 && len(spec.VolumeMounts) == 0 {
		// Upstream's odd but documented path: all four names in a row.
		errs = append(errs, field.Required(fldPath.Child("volumes", "env", "envFrom", "volumeMounts"), "must specify at least one"))
	}

	vols, volErrs := pod.ValidateVolumes(spec.Volumes, fldPath.Child("volumes"))
	errs = append(errs, volErrs...)
	errs = append(errs, pod.ValidateEnv(spec.Env, fldPath.Child("env"))...)
	errs = append(errs, pod.ValidateEnvFrom(spec.EnvFrom, fldPath.Child("envFrom"))...)
	errs = append(errs, pod.ValidateVolumeMounts(spec.VolumeMounts, vols, nil, fldPath.Child("volumeMounts"))...)
	return errs
}
