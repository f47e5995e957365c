package podpreset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	settingsv1alpha1 "github.com/peapod/peapod/internal/apis/settings/v1alpha1"
	"github.com/peapod/peapod/internal/apiserver/admission"
	"github.com/peapod/peapod/internal/storage"
)

var (
	_ admission.PodPresetLister        = (*StoreLister)(nil)
	_ admission.PodPresetEventRecorder = (*StoreEventRecorder)(nil)
)

// fakeStore implements the two storage calls these adapters make; any
// other call panics through the nil embedded interface.
type fakeStore struct {
	storage.Interface
	items   []settingsv1alpha1.PodPreset
	listErr error
	created map[string]runtime.Object
	gotKey  string
	gotOpts storage.ListOptions
}

func (f *fakeStore) GetList(_ context.Context, key string, opts storage.ListOptions, listObj runtime.Object) error {
	f.gotKey, f.gotOpts = key, opts
	if f.listErr != nil {
		return f.listErr
	}
	listObj.(*settingsv1alpha1.PodPresetList).Items = f.items
	return nil
}

func (f *fakeStore) Create(_ context.Context, key string, obj, _ runtime.Object) error {
	if f.created == nil {
		f.created = map[string]runtime.Object{}
	}
	if _, ok := f.created[key]; ok {
		return storage.ErrKeyExists
	}
	f.created[key] = obj
	return nil
}

func TestStoreLister(t *testing.T) {
	pp := func(ns, name string) settingsv1alpha1.PodPreset {
		return settingsv1alpha1.PodPreset{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	store := &fakeStore{items: []settingsv1alpha1.PodPreset{pp("default", "a"), pp("default2", "x"), pp("default", "b")}}
	got, err := NewStoreLister(store).ListPodPresets(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	if store.gotKey != "/registry/podpresets/default/" || !store.gotOpts.Recursive || store.gotOpts.ResourceVersion != "" {
		t.Errorf("GetList(%q, %+v), want a recursive quorum read of /registry/podpresets/default/", store.gotKey, store.gotOpts)
	}
	var names []string
	for _, p := range got {
		names = append(names, p.Name)
	}
	if diff := cmp.Diff([]string{"a", "b"}, names); diff != "" {
		t.Errorf("presets (-want +got):\n%s", diff)
	}

	store.listErr = storage.ErrTimeout
	if _, err := NewStoreLister(store).ListPodPresets(context.Background(), "default"); !errors.Is(err, storage.ErrTimeout) {
		t.Errorf("err = %v, want it to wrap ErrTimeout", err)
	}
}

func TestStoreEventRecorder(t *testing.T) {
	now := time.Date(2026, 11, 25, 1, 2, 3, 456, time.UTC)
	store := &fakeStore{}
	var logs bytes.Buffer
	r := NewStoreEventRecorder(store, func() time.Time { return now }, slog.New(slog.NewTextHandler(&logs, nil)))
	r.newID = func() types.UID { return "event-uid" }

	ref := &v1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: "default", Name: "website-"}
	r.Eventf(context.Background(), ref, v1.EventTypeWarning, "PodPresetConflict", "conflict on %s", "DB_PORT")

	wantName := fmt.Sprintf("website.%x", now.UnixNano()) // client-go's naming
	if len(store.created) != 1 {
		t.Fatalf("created %v", store.created)
	}
	var got *v1.Event
	for k, obj := range store.created {
		got = obj.(*v1.Event)
		if k != "/registry/events/default/"+got.Name {
			t.Errorf("key %q does not match event name %q", k, got.Name)
		}
	}
	ts := metav1.NewTime(now)
	want := &v1.Event{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta: metav1.ObjectMeta{Name: wantName, Namespace: "default", UID: "event-uid",
			CreationTimestamp: metav1.NewTime(now.Truncate(time.Second))},
		InvolvedObject: *ref,
		Reason:         "PodPresetConflict",
		Message:        "conflict on DB_PORT",
		Type:           "Warning",
		Source:         v1.EventSource{Component: "podpreset-admission"},
		FirstTimestamp: ts, LastTimestamp: ts, Count: 1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}

	// A second event at the same instant collides; the failure is logged,
	// not returned or panicked.
	r.Eventf(context.Background(), ref, v1.EventTypeWarning, "PodPresetConflict", "again")
	if !strings.Contains(logs.String(), "recording event failed") {
		t.Errorf("log = %q, want the failed write logged", logs.String())
	}

	// A typed object works too; one without a namespace is refused.
	pod := &v1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod", UID: "pod-uid"}}
	refOut, err := objectReference(pod)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&v1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: "prod", Name: "web", UID: "pod-uid"}, refOut); diff != "" {
		t.Errorf("reference (-want +got):\n%s", diff)
	}
	if _, err := objectReference(&v1.ObjectReference{Kind: "Pod", Name: "x"}); err == nil {
		t.Error("a reference without namespace was accepted")
	}
	if _, err := objectReference(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "y"}}); err == nil {
		t.Error("an object without kind was accepted")
	}
}
