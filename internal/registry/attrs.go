package registry

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// Field selector keys every resource supports.
const (
	FieldMetadataName      = "metadata.name"
	FieldMetadataNamespace = "metadata.namespace"
)

// ObjectMetaFieldsSet returns the selectable metadata fields of an object:
// metadata.name and metadata.namespace (empty for cluster-scoped objects).
func ObjectMetaFieldsSet(m *metav1.ObjectMeta) fields.Set {
	return fields.Set{
		FieldMetadataName:      m.Name,
		FieldMetadataNamespace: m.Namespace,
	}
}

// MergeFieldsSet adds extra to the metadata field set of m.
func MergeFieldsSet(m *metav1.ObjectMeta, extra fields.Set) fields.Set {
	set := ObjectMetaFieldsSet(m)
	for k, v := range extra {
		set[k] = v
	}
	return set
}

// Attrs is the common GetAttrs result: the object's labels (never nil) and
// its fields.
func Attrs(m *metav1.ObjectMeta, extra fields.Set) (labels.Set, fields.Set, error) {
	l := labels.Set(m.Labels)
	if l == nil {
		l = labels.Set{}
	}
	return l, MergeFieldsSet(m, extra), nil
}

// SelectableFields is what a strategy's FieldSetter.SelectableFields
// returns: the resource-specific keys, in order. metadata.name and
// metadata.namespace are selectable everywhere and the edge always allows
// them, so they are not repeated here.
func SelectableFields(extra ...string) []string {
	return append([]string{}, extra...)
}
