package serviceaccount

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidate(t *testing.T) {
	ok := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "default"}}
	if errs := Validate(ok); len(errs) != 0 {
		t.Errorf("valid: %v", errs)
	}
	bad := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "Bad_SA", Namespace: "default"},
		ImagePullSecrets: []corev1.LocalObjectReference{{}}}
	errs := Validate(bad)
	if len(errs) != 1 || errs[0].Field != "metadata.name" {
		t.Errorf("errs = %v", errs)
	}
}

func TestTable(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	res := NewResourceWithClock(func() time.Time { return now })
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", CreationTimestamp: metav1.NewTime(now)},
		Secrets: []corev1.ObjectReference{{Name: "t"}}}
	tbl, err := res.Strategy.ConvertToTable(context.Background(), sa, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := tbl.Rows[0].Cells; c[0] != "default" || c[1] != int64(1) || c[2] != "0s" {
		t.Errorf("row = %v", c)
	}
	if len(res.Subresources) != 1 || res.Subresources[0] != "token" || res.ShortNames[0] != "sa" {
		t.Errorf("resource = %+v", res)
	}
}
