package storage

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

func podWith(app string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"app": app}}}
}

func TestTransition(t *testing.T) {
	pred := SelectionPredicate{
		Label: labels.SelectorFromSet(labels.Set{"app": "web"}),
		GetAttrs: func(obj runtime.Object) (labels.Set, fields.Set, error) {
			return obj.(*corev1.Pod).Labels, fields.Set{}, nil
		},
	}
	web, db := podWith("web"), podWith("db")
	tests := []struct {
		name     string
		e        cacheEvent
		pred     SelectionPredicate
		wantType watch.EventType
		wantObj  runtime.Object
		wantRV   bool
	}{
		{"added matching", cacheEvent{Type: watch.Added, Obj: web}, pred, watch.Added, web, false},
		{"added other", cacheEvent{Type: watch.Added, Obj: db}, pred, "", nil, false},
		{"modified inside", cacheEvent{Type: watch.Modified, Obj: web, PrevObj: web}, pred, watch.Modified, web, false},
		{"enters", cacheEvent{Type: watch.Modified, Obj: web, PrevObj: db}, pred, watch.Added, web, false},
		{"leaves: last matching state", cacheEvent{Type: watch.Modified, Obj: db, PrevObj: web}, pred, watch.Deleted, web, true},
		{"modified outside", cacheEvent{Type: watch.Modified, Obj: db, PrevObj: db}, pred, "", nil, false},
		{"deleted matching", cacheEvent{Type: watch.Deleted, Obj: web, PrevObj: web}, pred, watch.Deleted, web, false},
		{"deleted other", cacheEvent{Type: watch.Deleted, Obj: db, PrevObj: db}, pred, "", nil, false},
		{"everything", cacheEvent{Type: watch.Modified, Obj: db, PrevObj: web}, SelectionPredicate{}, watch.Modified, db, false},
	}
	for _, tt := range tests {
		typ, obj, setRV, ok, err := transition(tt.e, tt.pred)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if ok != (tt.wantType != "") || typ != tt.wantType || obj != tt.wantObj || setRV != tt.wantRV {
			t.Errorf("%s: %s %v rv=%v, want %s %v rv=%v", tt.name, typ, obj, setRV, tt.wantType, tt.wantObj, tt.wantRV)
		}
	}
	broken := SelectionPredicate{Label: pred.Label}
	if _, _, _, _, err := transition(cacheEvent{Type: watch.Added, Obj: web}, broken); err == nil {
		t.Error("predicate without GetAttrs: no error")
	}
}

func TestKeyFilter(t *testing.T) {
	tests := []struct {
		key       string
		recursive bool
		in        string
		want      bool
	}{
		{"/registry/pods/ns", true, "/registry/pods/ns/a", true},
		{"/registry/pods/ns/", true, "/registry/pods/ns/a", true},
		{"/registry/pods/ns", true, "/registry/pods/ns2/a", false},
		{"/registry/pods/ns/a", false, "/registry/pods/ns/a", true},
		{"/registry/pods/ns/a", false, "/registry/pods/ns/ab", false},
	}
	for _, tt := range tests {
		if got := newKeyFilter(tt.key, tt.recursive).matches(tt.in); got != tt.want {
			t.Errorf("%s recursive=%v matches %s = %v", tt.key, tt.recursive, tt.in, got)
		}
	}
}

func TestResourcePrefix(t *testing.T) {
	for key, want := range map[string]string{
		"/registry/pods":                   "/registry/pods/",
		"/registry/pods/":                  "/registry/pods/",
		"/registry/pods/ns/name":           "/registry/pods/",
		"/registry/namespaces/kube-system": "/registry/namespaces/",
		"/registry":                        "",
		"":                                 "",
	} {
		got, ok := resourcePrefix(key)
		if got != want || ok != (want != "") {
			t.Errorf("resourcePrefix(%q) = %q %v, want %q", key, got, ok, want)
		}
	}
}

func TestVersionAtLeast(t *testing.T) {
	for v, want := range map[string]bool{
		"3.5.21": true, "3.5.13": true, "3.5.12": false, "3.4.23": false, "3.4.31": true,
		"3.6.0": true, "4.0.0": true, "3.3.27": false, "garbage": false, "3.5": false, "3.5.13-rc.0": true,
	} {
		if got := versionAtLeast(v); got != want {
			t.Errorf("versionAtLeast(%q) = %v, want %v", v, got, want)
		}
	}
}

// The watchers of an event compute its objects' attributes once, and each
// still sees what its own selector gives.
func TestEventAttrsShared(t *testing.T) {
	calls := 0
	getAttrs := func(obj runtime.Object) (labels.Set, fields.Set, error) {
		calls++
		return obj.(*corev1.Pod).Labels, fields.Set{"metadata.name": obj.(*corev1.Pod).Name}, nil
	}
	web, db := podWith("web"), podWith("db")
	e := cacheEvent{Type: watch.Modified, Key: "/registry/pods/ns/p", Obj: db, PrevObj: web, Rev: 3}
	preds := []SelectionPredicate{
		{Label: labels.SelectorFromSet(labels.Set{"app": "web"}), GetAttrs: getAttrs},
		{Label: labels.SelectorFromSet(labels.Set{"app": "db"}), GetAttrs: getAttrs},
		{Field: fields.OneTermEqualSelector("metadata.name", "p"), GetAttrs: getAttrs},
		{Field: fields.OneTermEqualSelector("metadata.name", "q"), GetAttrs: getAttrs},
		{},
	}
	var ea eventAttrs
	for i, pred := range preds {
		wantTyp, wantObj, wantRV, wantOK, _ := transition(e, pred)
		typ, obj, rv, ok, err := transitionAttrs(e, pred, &ea)
		if err != nil || typ != wantTyp || obj != wantObj || rv != wantRV || ok != wantOK {
			t.Fatalf("pred %d: got %s %v %v %v %v, want %s %v %v", i, typ, obj, rv, ok, err, wantTyp, wantRV, wantOK)
		}
	}
	// transition (without sharing) computed 2 per selective predicate (8);
	// the shared ones 2 in all.
	if calls != 8+2 {
		t.Fatalf("GetAttrs called %d times, want 10", calls)
	}
}
