package registry

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestBaseStrategy(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "ns", Labels: map[string]string{"k": "v"}}}
	l, f, err := BaseStrategy{}.GetAttrs(cm)
	if err != nil || l["k"] != "v" || f[FieldMetadataName] != "a" || f[FieldMetadataNamespace] != "ns" || len(f) != 2 {
		t.Errorf("GetAttrs = %v, %v, %v", l, f, err)
	}
	if l, _, _ := (BaseStrategy{}).GetAttrs(&corev1.Namespace{}); l == nil {
		t.Error("GetAttrs labels are nil for an unlabelled object")
	}
	if (BaseStrategy{}).AllowCreateOnUpdate() || !(BaseStrategy{CreateOnUpdate: true}).AllowCreateOnUpdate() {
		t.Error("AllowCreateOnUpdate does not report CreateOnUpdate")
	}
	if got := (BaseStrategy{}).SelectableFields(); len(got) != 0 {
		t.Errorf("SelectableFields = %v, want none beyond metadata", got)
	}
	old := cm.DeepCopy()
	obj := cm.DeepCopy()
	obj.Data = map[string]string{"x": "y"}
	BaseStrategy{}.PrepareForUpdate(context.Background(), obj, old)
	if obj.Data["x"] != "y" {
		t.Error("PrepareForUpdate changed the object")
	}
}
