package event

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

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func event() *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web.1", Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web", UID: "u1", FieldPath: "spec.containers{app}"},
		Reason:         "Started", Message: "Started container app\n", Type: corev1.EventTypeNormal,
		Source:         corev1.EventSource{Component: "kubelet", Host: "node1"},
		FirstTimestamp: metav1.NewTime(now.Add(-5 * time.Minute)), LastTimestamp: metav1.NewTime(now.Add(-30 * time.Second)), Count: 3,
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(e *corev1.Event)
		want   string
	}{
		{"ok", func(*corev1.Event) {}, ""},
		{"node event in default", func(e *corev1.Event) { e.InvolvedObject = corev1.ObjectReference{Kind: "Node", Name: "node1"} }, ""},
		{"namespace mismatch", func(e *corev1.Event) { e.InvolvedObject.Namespace = "other" }, "FieldValueInvalid involvedObject.namespace"},
		{"new-style event needs reporting fields", func(e *corev1.Event) { e.EventTime = metav1.NewMicroTime(now) },
			"FieldValueRequired reportingComponent,FieldValueInvalid reportingComponent,FieldValueInvalid reportingComponent," +
				"FieldValueRequired reportingInstance,FieldValueRequired action"}, // as upstream: "" also fails the qualified-name check
		{"any name, bad namespace", func(e *corev1.Event) {
			e.Name = "Pod:Web"
			e.Namespace = "Bad_NS"
			e.InvolvedObject.Namespace = "Bad_NS"
		}, "FieldValueInvalid namespace"},
		{"new-style ok", func(e *corev1.Event) {
			e.EventTime = metav1.NewMicroTime(now)
			e.ReportingController, e.ReportingInstance, e.Action = "peapod.dev/agent", "node1", "Start"
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := event()
			c.mutate(e)
			if got := errStrings(Validate(e)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestTable(t *testing.T) {
	res := NewResourceWithClock(func() time.Time { return now })
	tbl, err := res.Strategy.ConvertToTable(context.Background(), event(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range tbl.ColumnDefinitions {
		cols = append(cols, c.Name)
	}
	if strings.Join(cols, ",") != "Last Seen,Type,Reason,Object,Subobject,Source,Message,First Seen,Count,Name" {
		t.Errorf("columns = %v", cols)
	}
	want := []interface{}{"30s", "Normal", "Started", "pod/web", "spec.containers{app}", "kubelet, node1",
		"Started container app", "5m", int64(3), "web.1"}
	for i, w := range want {
		if tbl.Rows[0].Cells[i] != w {
			t.Errorf("cell %d = %#v, want %#v", i, tbl.Rows[0].Cells[i], w)
		}
	}
	series := event()
	series.FirstTimestamp, series.LastTimestamp, series.Count = metav1.Time{}, metav1.Time{}, 0
	series.EventTime = metav1.NewMicroTime(now.Add(-time.Hour))
	series.ReportingController = "ctrl"
	series.Source = corev1.EventSource{}
	series.InvolvedObject.Name = ""
	r, _ := row(series, now)
	if r.Cells[0] != "60m" || r.Cells[3] != "pod" || r.Cells[5] != "ctrl" || r.Cells[7] != "60m" || r.Cells[8] != int64(1) {
		t.Errorf("eventTime row = %v", r.Cells)
	}
	series.Series = &corev1.EventSeries{Count: 7, LastObservedTime: metav1.NewMicroTime(now.Add(-2 * time.Second))}
	r, _ = row(series, now)
	if r.Cells[0] != "2s" || r.Cells[8] != int64(7) {
		t.Errorf("series row = %v", r.Cells)
	}
}

func TestAttrs(t *testing.T) {
	s := NewResource().Strategy
	_, f, err := s.GetAttrs(event())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"metadata.name": "web.1", "metadata.namespace": "default",
		"involvedObject.kind": "Pod", "involvedObject.namespace": "default", "involvedObject.name": "web",
		"involvedObject.uid": "u1", "involvedObject.apiVersion": "", "involvedObject.resourceVersion": "",
		"involvedObject.fieldPath": "spec.containers{app}", "reason": "Started", "reportingComponent": "",
		"source": "kubelet", "type": "Normal",
	}
	if len(f) != len(want) {
		t.Errorf("fields = %v", f)
	}
	for k, v := range want {
		if got, ok := f[k]; !ok || got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(s.(*Strategy).SelectableFields())+2 != len(want) {
		t.Errorf("SelectableFields = %v", s.(*Strategy).SelectableFields())
	}
}
