package serviceaccount

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

func TestDecide(t *testing.T) {
	active := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	dt := metav1.NewTime(time.Unix(1, 0))
	terminating := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "t", DeletionTimestamp: &dt}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: DefaultName, Namespace: "a"}}
	good := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: RootCAName, Namespace: "a", ResourceVersion: "7",
		Annotations: map[string]string{descriptionK: descriptionV, "keep": "me"}}, Data: map[string]string{RootCAKey: ca}}
	changed := good.DeepCopy()
	changed.Data[RootCAKey] = "tampered"
	extra := good.DeepCopy()
	extra.Data["other"] = "x"
	binary := good.DeepCopy()
	binary.BinaryData = map[string][]byte{"b": {1}}

	tests := []struct {
		name             string
		ns               *corev1.Namespace
		sa               *corev1.ServiceAccount
		cm               *corev1.ConfigMap
		createSA, create bool
		update           bool
	}{
		{name: "new namespace gets both", ns: active, createSA: true, create: true},
		{name: "all present", ns: active, sa: sa, cm: good},
		{name: "sa deleted", ns: active, cm: good, createSA: true},
		{name: "ca content changed", ns: active, sa: sa, cm: changed, update: true},
		{name: "extra key", ns: active, sa: sa, cm: extra, update: true},
		{name: "binary data", ns: active, sa: sa, cm: binary, update: true},
		{name: "terminating namespace: nothing", ns: terminating},
		{name: "namespace gone: nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Decide(tt.ns, tt.sa, tt.cm, []byte(ca))
			if p.CreateSA != tt.createSA || (p.CreateCM != nil) != tt.create || (p.UpdateCM != nil) != tt.update {
				t.Fatalf("got %+v", p)
			}
			for _, cm := range []*corev1.ConfigMap{p.CreateCM, p.UpdateCM} {
				if cm == nil {
					continue
				}
				if len(cm.Data) != 1 || cm.Data[RootCAKey] != ca || cm.BinaryData != nil || cm.Name != RootCAName {
					t.Fatalf("configmap %+v", cm)
				}
			}
			if p.UpdateCM != nil && (p.UpdateCM.ResourceVersion != "7" || p.UpdateCM.Annotations["keep"] != "me") {
				t.Fatalf("update lost metadata: %+v", p.UpdateCM.ObjectMeta)
			}
			if tt.cm != nil && tt.cm.Data[RootCAKey] == "tampered" && p.UpdateCM == tt.cm {
				t.Fatal("input modified in place")
			}
		})
	}
}
