package registry

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestHumanAge(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		ago  time.Duration
		zero bool
		want string
	}{
		{zero: true, want: "<unknown>"},
		{ago: 0, want: "0s"},
		{ago: 59 * time.Second, want: "59s"},
		{ago: 119 * time.Second, want: "119s"},
		{ago: 3*time.Minute + 2*time.Second, want: "3m2s"},
		{ago: 5 * time.Minute, want: "5m"},
		{ago: 90 * time.Minute, want: "90m"},
		{ago: 4*time.Hour + 10*time.Minute, want: "4h10m"},
		{ago: 30 * time.Hour, want: "30h"},
		{ago: 3 * 24 * time.Hour, want: "3d"},
		{ago: -10 * time.Second, want: "<invalid>"},
	}
	for _, c := range cases {
		ts := metav1.NewTime(now.Add(-c.ago))
		if c.zero {
			ts = metav1.Time{}
		}
		if got := HumanAge(ts, now); got != c.want {
			t.Errorf("HumanAge(-%v) = %q, want %q", c.ago, got, c.want)
		}
	}
}

func testConvertor(now time.Time) *TableConvertor {
	return &TableConvertor{
		GVK:     corev1.SchemeGroupVersion.WithKind("ConfigMap"),
		Columns: []metav1.TableColumnDefinition{NameColumn(), AgeColumn()},
		Row: func(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
			c := obj.(*corev1.ConfigMap)
			return metav1.TableRow{Cells: []interface{}{c.Name, HumanAge(c.CreationTimestamp, now)}}, nil
		},
		Now: func() time.Time { return now },
	}
}

func TestConvertToTable(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	conv := testConvertor(now)
	cm := func(name string, age time.Duration) corev1.ConfigMap {
		return corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", ResourceVersion: "7",
			Labels: map[string]string{"a": "b"}, CreationTimestamp: metav1.NewTime(now.Add(-age))}}
	}
	list := &corev1.ConfigMapList{ListMeta: metav1.ListMeta{ResourceVersion: "42", Continue: "c"},
		Items: []corev1.ConfigMap{cm("a", time.Minute*3), cm("b", 10*time.Second)}}

	t.Run("list with metadata rows", func(t *testing.T) {
		tbl, err := conv.ConvertToTable(list, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tbl.ResourceVersion != "42" || tbl.Continue != "c" {
			t.Errorf("list meta = %q %q", tbl.ResourceVersion, tbl.Continue)
		}
		if len(tbl.ColumnDefinitions) != 2 || tbl.ColumnDefinitions[0].Format != "name" {
			t.Errorf("columns = %+v", tbl.ColumnDefinitions)
		}
		if len(tbl.Rows) != 2 || tbl.Rows[0].Cells[1] != "3m" || tbl.Rows[1].Cells[1] != "10s" {
			t.Fatalf("rows = %+v", tbl.Rows)
		}
		p, ok := tbl.Rows[0].Object.Object.(*metav1.PartialObjectMetadata)
		if !ok || p.Kind != "PartialObjectMetadata" || p.APIVersion != "meta.k8s.io/v1" || p.Name != "a" || p.Labels["a"] != "b" {
			t.Errorf("row object = %#v", tbl.Rows[0].Object.Object)
		}
	})
	t.Run("empty list has empty rows", func(t *testing.T) {
		tbl, err := conv.ConvertToTable(&corev1.ConfigMapList{}, nil)
		if err != nil || tbl.Rows == nil || len(tbl.Rows) != 0 {
			t.Fatalf("rows = %#v, err %v", tbl.Rows, err)
		}
	})
	t.Run("single object, full object, no headers", func(t *testing.T) {
		one := cm("x", 0)
		tbl, err := conv.ConvertToTable(&one, &metav1.TableOptions{IncludeObject: metav1.IncludeObject, NoHeaders: true})
		if err != nil {
			t.Fatal(err)
		}
		if tbl.ColumnDefinitions != nil || tbl.ResourceVersion != "7" {
			t.Errorf("headers %v rv %q", tbl.ColumnDefinitions, tbl.ResourceVersion)
		}
		full, ok := tbl.Rows[0].Object.Object.(*corev1.ConfigMap)
		if !ok || full.Kind != "ConfigMap" || full.APIVersion != "v1" {
			t.Fatalf("row object = %#v", tbl.Rows[0].Object.Object)
		}
		if one.Kind != "" {
			t.Error("ConvertToTable changed the caller's object")
		}
	})
	t.Run("include none", func(t *testing.T) {
		tbl, err := conv.ConvertToTable(list, &metav1.TableOptions{IncludeObject: metav1.IncludeNone})
		if err != nil || tbl.Rows[0].Object.Object != nil {
			t.Fatalf("object = %v err %v", tbl.Rows[0].Object.Object, err)
		}
	})
}
