package registry

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// errStrings renders errors as "Type field" for table comparisons.
func errStrings(errs field.ErrorList) []string {
	out := []string{}
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestValidateObjectMeta(t *testing.T) {
	cases := []struct {
		name       string
		meta       metav1.ObjectMeta
		namespaced bool
		nameFn     NameFunc
		want       []string
	}{
		{"ok", metav1.ObjectMeta{Name: "web-1", Namespace: "default"}, true, NameIsDNSSubdomain, []string{}},
		{"missing name", metav1.ObjectMeta{Namespace: "default"}, true, NameIsDNSSubdomain,
			[]string{"FieldValueRequired metadata.name"}},
		{"bad name and namespace", metav1.ObjectMeta{Name: "Web_1", Namespace: "Bad!"}, true, NameIsDNSSubdomain,
			[]string{"FieldValueInvalid metadata.name", "FieldValueInvalid metadata.namespace"}},
		{"missing namespace", metav1.ObjectMeta{Name: "a"}, true, NameIsDNSSubdomain,
			[]string{"FieldValueRequired metadata.namespace"}},
		{"namespace on cluster-scoped", metav1.ObjectMeta{Name: "a", Namespace: "x"}, false, NameIsDNSSubdomain,
			[]string{"FieldValueForbidden metadata.namespace"}},
		{"dotted name is not a label", metav1.ObjectMeta{Name: "a.b"}, false, NameIsDNSLabel,
			[]string{"FieldValueInvalid metadata.name"}},
		{"bad generateName", metav1.ObjectMeta{Name: "ok", GenerateName: "Bad_", Namespace: "d"}, true, NameIsDNSSubdomain,
			[]string{"FieldValueInvalid metadata.generateName"}},
		{"bad labels and annotations", metav1.ObjectMeta{Name: "a", Namespace: "d",
			Labels: map[string]string{"bad key!": "v", "k": "bad value!"}, Annotations: map[string]string{"bad key!": ""}},
			true, NameIsDNSSubdomain,
			[]string{"FieldValueInvalid metadata.labels", "FieldValueInvalid metadata.labels", "FieldValueInvalid metadata.annotations"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := errStrings(ValidateObjectMeta(&c.meta, c.namespaced, c.nameFn))
			if !equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestValidateObjectMetaUpdate(t *testing.T) {
	old := metav1.ObjectMeta{Name: "a", Namespace: "d", UID: types.UID("u1"), ResourceVersion: "5",
		CreationTimestamp: metav1.Unix(100, 0), Generation: 3}
	cases := []struct {
		name   string
		mutate func(m *metav1.ObjectMeta)
		want   []string
	}{
		{"unchanged", func(*metav1.ObjectMeta) {}, []string{}},
		{"no resourceVersion is the edge's business", func(m *metav1.ObjectMeta) { m.ResourceVersion = "" }, []string{}},
		{"immutable fields", func(m *metav1.ObjectMeta) {
			m.Name, m.Namespace, m.UID, m.CreationTimestamp = "b", "e", "u2", metav1.Unix(200, 0)
		}, []string{"FieldValueInvalid metadata.name", "FieldValueInvalid metadata.namespace",
			"FieldValueInvalid metadata.uid", "FieldValueInvalid metadata.creationTimestamp"}},
		{"generation decremented", func(m *metav1.ObjectMeta) { m.Generation = 2 },
			[]string{"FieldValueInvalid metadata.generation"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := *old.DeepCopy()
			c.mutate(&m)
			got := errStrings(ValidateObjectMetaUpdate(&m, &old))
			if !equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestAttrs(t *testing.T) {
	m := &metav1.ObjectMeta{Name: "a", Namespace: "d"}
	l, f, err := Attrs(m, map[string]string{"type": "Opaque"})
	if err != nil || l == nil || len(l) != 0 {
		t.Fatalf("labels %v err %v", l, err)
	}
	if f["metadata.name"] != "a" || f["metadata.namespace"] != "d" || f["type"] != "Opaque" || len(f) != 3 {
		t.Errorf("fields = %v", f)
	}
	if got := SelectableFields("x"); !equal(got, []string{"x"}) {
		t.Errorf("SelectableFields = %v", got)
	}
}

func TestCoreFinalizers(t *testing.T) {
	m := &metav1.ObjectMeta{Name: "a", Namespace: "d", Finalizers: []string{"kubernetes", "orphan", "example.com/x", "custom"}}
	got := errStrings(ValidateCoreObjectMeta(m, true, NameIsDNSSubdomain))
	if !equal(got, []string{"FieldValueInvalid metadata.finalizers[3]"}) {
		t.Errorf("create: %v", got)
	}
	old := m.DeepCopy()
	old.ResourceVersion = "1"
	if got := errStrings(ValidateCoreObjectMetaUpdate(m, old)); !equal(got, []string{"FieldValueInvalid metadata.finalizers[3]"}) {
		t.Errorf("update: %v", got)
	}
	if errs := ValidateObjectMeta(m, true, NameIsDNSSubdomain); len(errs) != 0 {
		t.Errorf("generic metadata rejects custom finalizer: %v", errs)
	}
}
