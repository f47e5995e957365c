// Package secret is the registry entry for core/v1 secrets.
package secret

import (
	"context"
	"encoding/json"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/peapod/peapod/internal/registry"
)

// MaxSize is the largest total size of a secret's data (1 MiB), as
// Kubernetes' core.MaxSecretSize.
const MaxSize = 1 * 1024 * 1024

// FieldType is the secret-specific field selector key.
const FieldType = "type"

// NewResource returns the secrets resource, with AGE computed from the
// wall clock.
func NewResource() *registry.Resource { return NewResourceWithClock(time.Now) }

// NewResourceWithClock returns the secrets resource with an injected clock.
func NewResourceWithClock(now func() time.Time) *registry.Resource {
	gvk := corev1.SchemeGroupVersion.WithKind("Secret")
	return &registry.Resource{
		GVR:          schema.GroupVersionResource{Version: "v1", Resource: "secrets"},
		Kind:         "Secret",
		ListKind:     "SecretList",
		SingularName: "secret",
		Namespaced:   true,
		New:          func() runtime.Object { return &corev1.Secret{} },
		NewList:      func() runtime.Object { return &corev1.SecretList{} },
		Strategy: &Strategy{registry.BaseStrategy{Table: &registry.TableConvertor{
			GVK: gvk,
			Columns: []metav1.TableColumnDefinition{
				registry.NameColumn(),
				registry.Column("Type", "string", 0, corev1.Secret{}.SwaggerDoc()["type"]),
				registry.Column("Data", "string", 0, corev1.Secret{}.SwaggerDoc()["data"]),
				registry.AgeColumn(),
			},
			Row: row,
			Now: now,
		}}},
	}
}

// Strategy implements registry.Strategy for secrets.
type Strategy struct{ registry.BaseStrategy }

var (
	_ registry.Strategy    = (*Strategy)(nil)
	_ registry.FieldSetter = (*Strategy)(nil)
)

// foldStringData merges the write-only stringData into data, as the
// v1→internal conversion does upstream; stringData wins on key clashes.
func foldStringData(s *corev1.Secret) {
	if len(s.StringData) == 0 {
		s.StringData = nil
		return
	}
	if s.Data == nil {
		s.Data = make(map[string][]byte, len(s.StringData))
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}

// PrepareForCreate folds stringData into data. Secrets have no
// metadata.generation in Kubernetes.
func (*Strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	s := obj.(*corev1.Secret)
	foldStringData(s)
	s.Generation = 0
}

// PrepareForUpdate folds stringData into data.
func (*Strategy) PrepareForUpdate(_ context.Context, obj, _ runtime.Object) {
	foldStringData(obj.(*corev1.Secret))
}

// Validate checks a new secret.
func (*Strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return Validate(obj.(*corev1.Secret))
}

// ValidateUpdate checks an update: type is immutable, and nothing but
// metadata changes once immutable is true.
func (*Strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return ValidateUpdate(obj.(*corev1.Secret), old.(*corev1.Secret))
}

// GetAttrs returns labels and metadata.name, metadata.namespace, type.
func (*Strategy) GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	s := obj.(*corev1.Secret)
	return registry.Attrs(&s.ObjectMeta, fields.Set{FieldType: string(s.Type)})
}

// SelectableFields lists the resource-specific field selector keys (the
// edge always allows metadata.name and metadata.namespace).
func (*Strategy) SelectableFields() []string { return registry.SelectableFields(FieldType) }

func row(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	s := obj.(*corev1.Secret)
	return metav1.TableRow{Cells: []interface{}{
		s.Name, string(s.Type), int64(len(s.Data)), registry.HumanAge(s.CreationTimestamp, now),
	}}, nil
}

// Validate checks a secret as Kubernetes' ValidateSecret: metadata, data
// keys, total size and the keys each well-known type requires.
func Validate(s *corev1.Secret) field.ErrorList {
	errs := registry.ValidateCoreObjectMeta(&s.ObjectMeta, true, registry.NameIsDNSSubdomain)
	dataPath := field.NewPath("data")
	total := 0
	for _, key := range registry.SortedKeys(s.Data) {
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(dataPath.Key(key), key, msg))
		}
		total += len(s.Data[key])
	}
	if total > MaxSize {
		errs = append(errs, field.TooLong(dataPath, "", MaxSize))
	}
	requireJSON := func(key string) {
		b, ok := s.Data[key]
		if !ok {
			errs = append(errs, field.Required(dataPath.Key(key), ""))
			return
		}
		if err := json.Unmarshal(b, &map[string]interface{}{}); err != nil {
			errs = append(errs, field.Invalid(dataPath.Key(key), "<secret contents redacted>", err.Error()))
		}
	}
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(field.NewPath("metadata", "annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeDockercfg:
		requireJSON(corev1.DockerConfigKey)
	case corev1.SecretTypeDockerConfigJson:
		requireJSON(corev1.DockerConfigJsonKey)
	case corev1.SecretTypeBasicAuth:
		_, u := s.Data[corev1.BasicAuthUsernameKey]
		_, p := s.Data[corev1.BasicAuthPasswordKey]
		if !u && !p {
			errs = append(errs, field.Required(dataPath.Key(corev1.BasicAuthUsernameKey), ""),
				field.Required(dataPath.Key(corev1.BasicAuthPasswordKey), ""))
		}
	case corev1.SecretTypeSSHAuth:
		if len(s.Data[corev1.SSHAuthPrivateKey]) == 0 {
			errs = append(errs, field.Required(dataPath.Key(corev1.SSHAuthPrivateKey), ""))
		}
	case corev1.SecretTypeTLS:
		if _, ok := s.Data[corev1.TLSCertKey]; !ok {
			errs = append(errs, field.Required(dataPath.Key(corev1.TLSCertKey), ""))
		}
		if _, ok := s.Data[corev1.TLSPrivateKeyKey]; !ok {
			errs = append(errs, field.Required(dataPath.Key(corev1.TLSPrivateKeyKey), ""))
		}
	}
	return errs
}

// ValidateUpdate is Kubernetes' ValidateSecretUpdate.
func ValidateUpdate(s, old *corev1.Secret) field.ErrorList {
	errs := registry.ValidateCoreObjectMetaUpdate(&s.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, registry.ValidateImmutableField(s.Type, old.Type, field.NewPath("type"))...)
	if old.Immutable != nil && *old.Immutable {
		if s.Immutable == nil || !*s.Immutable {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
		}
		if !reflect.DeepEqual(s.Data, old.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
		}
	}
	return append(errs, Validate(s)...)
}
