package apiserver

import (
	"bytes"
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// The hand-written JSON event framing is byte for byte what json.Encoder
// writes for a watchEvent (HTML characters and unicode included).
func TestJSONEventsMatchEncoder(t *testing.T) {
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: "p", Annotations: map[string]string{"a": "<b>&\"é\u2028"}},
	}
	for _, typ := range []watch.EventType{watch.Added, watch.Modified, watch.Deleted, watch.Bookmark, watch.Error} {
		raw, err := json.Marshal(pod)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(&watchEvent{Type: typ, Object: raw}); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		out := &jsonEvents{w: &got}
		enc, err := out.encode(pod)
		if err != nil {
			t.Fatal(err)
		}
		if err := out.write(typ, enc); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("%s:\n got %s\nwant %s", typ, got.String(), want.String())
		}
		wantMsg, _ := json.Marshal(&watchEvent{Type: typ, Object: raw})
		if m := appendJSONEvent(nil, typ, enc); string(m) != string(wantMsg) {
			t.Fatalf("websocket message %s:\n got %s\nwant %s", typ, m, wantMsg)
		}
	}
}
