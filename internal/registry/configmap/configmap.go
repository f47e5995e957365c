// Package configmap is the registry entry for core/v1 configmaps.
package configmap

import (
	"context"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
)

// MaxSize is the largest total size of data plus binaryData (1 MiB).
const MaxSize = 1 * 1024 * 1024

// NewResource returns the configmaps resource (wall-clock AGE).
func NewResource() *registry.Resource { return NewResourceWithClock(time.Now) }

// NewResourceWithClock returns the configmaps resource with an injected clock.
func NewResourceWithClock(now func() time.Time) *registry.Resource {
	return &registry.Resource{
		GVR:          schema.GroupVersionResource{Version: "v1", Resource: "configmaps"},
		Kind:         "ConfigMap",
		ListKind:     "ConfigMapList",
		SingularName: "configmap",
		ShortNames:   []string{"cm"},
		Namespaced:   true,
		New:          func() runtime.Object { return &corev1.ConfigMap{} },
		NewList:      func() runtime.Object { return &corev1.ConfigMapList{} },
		Strategy: &Strategy{registry.BaseStrategy{Table: &registry.TableConvertor{
			GVK: corev1.SchemeGroupVersion.WithKind("ConfigMap"),
			Columns: []metav1.TableColumnDefinition{
				registry.NameColumn(),
				registry.Column("Data", "string", 0, corev1.ConfigMap{}.SwaggerDoc()["data"]),
				registry.AgeColumn(),
			},
			Row: row,
			Now: now,
		}}},
	}
}

// Strategy implements registry.Strategy for configmaps.
type Strategy struct{ registry.BaseStrategy }

var (
	_ registry.Strategy    = (*Strategy)(nil)
	_ registry.FieldSetter = (*Strategy)(nil)
)

// PrepareForCreate clears metadata.generation, which configmaps do not
// use in Kubernetes; a client may set every other field.
func (*Strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	obj.(*corev1.ConfigMap).Generation = 0
}

// Validate checks a new configmap.
func (*Strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return Validate(obj.(*corev1.ConfigMap))
}

// ValidateUpdate checks an update, honouring immutable: true.
func (*Strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return ValidateUpdate(obj.(*corev1.ConfigMap), old.(*corev1.ConfigMap))
}

func row(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	c := obj.(*corev1.ConfigMap)
	return metav1.TableRow{Cells: []interface{}{
		c.Name, int64(len(c.Data) + len(c.BinaryData)), registry.HumanAge(c.CreationTimestamp, now),
	}}, nil
}

// Validate is Kubernetes' ValidateConfigMap: metadata, keys of data and
// binaryData (no key in both), total size.
func Validate(c *corev1.ConfigMap) field.ErrorList {
	errs := registry.ValidateCoreObjectMeta(&c.ObjectMeta, true, registry.NameIsDNSSubdomain)
	total := 0
	for _, key := range registry.SortedKeys(c.Data) {
		p := field.NewPath("data").Key(key)
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(p, key, msg))
		}
		if _, dup := c.BinaryData[key]; dup {
			errs = append(errs, field.Invalid(p, key, "duplicate of key present in binaryData"))
		}
		total += len(c.Data[key])
	}
	for _, key := range registry.SortedKeys(c.BinaryData) {
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(field.NewPath("binaryData").Key(key), key, msg))
		}
		total += len(c.BinaryData[key])
	}
	if total > MaxSize {
		errs = append(errs, field.TooLong(field.NewPath(""), "", MaxSize))
	}
	return errs
}

// ValidateUpdate is Kubernetes' ValidateConfigMapUpdate.
func ValidateUpdate(c, old *corev1.ConfigMap) field.ErrorList {
	errs := registry.ValidateCoreObjectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta)
	if old.Immutable != nil && *old.Immutable {
		const msg = "field is immutable when `immutable` is set"
		if c.Immutable == nil || !*c.Immutable {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), msg))
		}
		if !reflect.DeepEqual(c.Data, old.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), msg))
		}
		if !reflect.DeepEqual(c.BinaryData, old.BinaryData) {
			errs = append(errs, field.Forbidden(field.NewPath("binaryData"), msg))
		}
	}
	return append(errs, Validate(c)...)
}
