package configmap

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errStrings(errs field.ErrorList) string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return strings.Join(out, ",")
}

func meta() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: "game", Namespace: "default", ResourceVersion: "1"}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		cm   corev1.ConfigMap
		want string
	}{
		{"ok", corev1.ConfigMap{ObjectMeta: meta(), Data: map[string]string{"game.properties": "a=b"}, BinaryData: map[string][]byte{"bin": {1}}}, ""},
		{"bad keys", corev1.ConfigMap{ObjectMeta: meta(), Data: map[string]string{"a/b": ""}, BinaryData: map[string][]byte{"c d": nil}},
			"FieldValueInvalid data[a/b],FieldValueInvalid binaryData[c d]"},
		{"key in both", corev1.ConfigMap{ObjectMeta: meta(), Data: map[string]string{"k": ""}, BinaryData: map[string][]byte{"k": nil}},
			"FieldValueInvalid data[k]"},
		{"too big", corev1.ConfigMap{ObjectMeta: meta(), Data: map[string]string{"k": strings.Repeat("x", MaxSize)}, BinaryData: map[string][]byte{"b": {1}}},
			"FieldValueTooLong []"}, // upstream reports the whole object this way
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := errStrings(Validate(&c.cm)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestValidateUpdateImmutable(t *testing.T) {
	yes := true
	old := &corev1.ConfigMap{ObjectMeta: meta(), Immutable: &yes, Data: map[string]string{"a": "1"}}
	upd := old.DeepCopy()
	upd.Data["a"] = "2"
	upd.BinaryData = map[string][]byte{"b": nil}
	upd.Immutable = nil
	if got, want := errStrings(ValidateUpdate(upd, old)), "FieldValueForbidden immutable,FieldValueForbidden data,FieldValueForbidden binaryData"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	mutable := old.DeepCopy()
	mutable.Immutable = nil
	upd2 := mutable.DeepCopy()
	upd2.Data["a"] = "2"
	if errs := ValidateUpdate(upd2, mutable); len(errs) != 0 {
		t.Errorf("mutable update: %v", errs)
	}
}

func TestTable(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	res := NewResourceWithClock(func() time.Time { return now })
	cm := &corev1.ConfigMap{ObjectMeta: meta(), Data: map[string]string{"a": ""}, BinaryData: map[string][]byte{"b": nil}}
	cm.CreationTimestamp = metav1.NewTime(now.Add(-5 * time.Second))
	tbl, err := res.Strategy.ConvertToTable(context.Background(), cm, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := tbl.Rows[0].Cells; c[0] != "game" || c[1] != int64(2) || c[2] != "5s" || len(tbl.ColumnDefinitions) != 3 {
		t.Errorf("row = %#v", c)
	}
}
