package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

type testEnv struct {
	srv    *httptest.Server
	store  *memStore
	client kubernetes.Interface
	api    *Server
}

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	store := newMemStore()
	api, err := New(Config{Scheme: scheme, Resources: testResources(), Storage: store, MinWatchTimeout: time.Minute,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	client := kubernetes.NewForConfigOrDie(&rest.Config{Host: srv.URL})
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if _, err := client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return &testEnv{srv: srv, store: store, client: client, api: api}
}

// do sends a raw request and returns the code and body.
func (e *testEnv) do(t *testing.T, method, path, ctype string, body []byte, hdr ...string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func status(t *testing.T, b []byte) metav1.Status {
	t.Helper()
	var st metav1.Status
	if err := json.Unmarshal(b, &st); err != nil || st.Kind != "Status" {
		t.Fatalf("not a Status: %s", b)
	}
	return st
}

func testPod(name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
}

func TestCRUDWithTypedClient(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	cms := e.client.CoreV1().ConfigMaps("default")
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "game-"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cm.Name, "game-") || len(cm.Name) != 10 || cm.UID == "" || cm.ResourceVersion == "" || cm.CreationTimestamp.IsZero() {
		t.Fatalf("server metadata not set: %+v", cm.ObjectMeta)
	}
	if len(cm.ManagedFields) == 0 {
		t.Errorf("managedFields not maintained on create")
	}
	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cm.Name}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		t.Fatalf("duplicate create: want AlreadyExists, got %v", err)
	}
	got, err := cms.Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil || got.Data["a"] != "1" {
		t.Fatalf("get: %v %v", got, err)
	}
	got.Data["a"] = "2"
	upd, err := cms.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil || upd.Data["a"] != "2" || upd.ResourceVersion == got.ResourceVersion {
		t.Fatalf("update: %v %v", upd, err)
	}
	got.Data["a"] = "3" // stale resourceVersion
	_, err = cms.Update(ctx, got, metav1.UpdateOptions{})
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "the object has been modified") {
		t.Fatalf("stale update: want Conflict, got %v", err)
	}
	list, err := cms.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + cm.Name})
	if err != nil || len(list.Items) != 1 || list.ResourceVersion == "" {
		t.Fatalf("list: %v %v", list, err)
	}
	if _, err := cms.List(ctx, metav1.ListOptions{FieldSelector: "spec.foo=x"}); !apierrors.IsBadRequest(err) {
		t.Fatalf("unknown field selector: want 400, got %v", err)
	}
	if err := cms.Delete(ctx, cm.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, cm.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after delete: want NotFound, got %v", err)
	}
	_, err = e.client.CoreV1().ConfigMaps("nope").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("create in missing namespace: want NotFound, got %v", err)
	}
}

func TestInvalidPodListsEveryField(t *testing.T) {
	e := newTestEnv(t)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "Bad_Name"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}, {Name: "b"}}}}
	_, err := e.client.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("want 422, got %v", err)
	}
	st := err.(apierrors.APIStatus).Status()
	fields := map[string]bool{}
	for _, c := range st.Details.Causes {
		fields[c.Field] = true
	}
	for _, f := range []string{"metadata.name", "spec.containers[0].image", "spec.containers[1].image"} {
		if !fields[f] {
			t.Errorf("no cause for %s in %+v", f, st.Details.Causes)
		}
	}
	if _, ok := e.store.objs["/registry/pods/default/Bad_Name"]; ok {
		t.Fatal("invalid object stored")
	}
}

func TestBadInput(t *testing.T) {
	e := newTestEnv(t)
	cases := []struct {
		name, method, path, ctype, body string
		code                            int
	}{
		{"malformed json", "POST", "/api/v1/namespaces/default/configmaps", "application/json", `{"apiVersion":"v1","kind":`, 400},
		{"malformed yaml", "POST", "/api/v1/namespaces/default/configmaps", "application/yaml", "a: [", 400},
		{"wrong kind", "POST", "/api/v1/namespaces/default/configmaps", "application/json", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}`, 400},
		{"unknown field strict", "POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Strict", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"bogus":1}`, 400},
		{"duplicate field strict", "POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Strict", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","name":"y"}}`, 400},
		{"unknown resource", "GET", "/api/v1/namespaces/default/widgets", "", "", 404},
		{"unknown group", "GET", "/apis/foo.io/v1/things", "", "", 404},
		{"unsupported media", "POST", "/api/v1/namespaces/default/configmaps", "text/plain", "x", 415},
		{"namespace mismatch", "POST", "/api/v1/namespaces/default/configmaps", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"other"}}`, 400},
		{"bad label selector", "GET", "/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20(", "", "", 400},
		{"oversize body", "POST", "/api/v1/namespaces/default/configmaps", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"a":"` + strings.Repeat("x", 4<<20) + `"}}`, 413},
		{"bad json patch", "PATCH", "/api/v1/namespaces/default/configmaps/none", "application/json-patch+json", `[{"op":"nope"}]`, 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body, _ := e.do(t, c.method, c.path, c.ctype, []byte(c.body))
			if code != c.code {
				t.Fatalf("code %d, want %d: %s", code, c.code, body)
			}
			if st := status(t, body); st.Code != int32(c.code) {
				t.Fatalf("Status code %d", st.Code)
			}
		})
	}
	code, _, hdr := e.do(t, "POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Warn", "application/json",
		[]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"warned"},"bogus":1}`))
	if code != 201 || !strings.Contains(hdr.Get("Warning"), `unknown field \"bogus\"`) {
		t.Fatalf("Warn: code %d, Warning %q", code, hdr.Get("Warning"))
	}
	if len(e.store.objs) != 2 { // default namespace + warned
		t.Fatalf("partial objects stored: %v", e.store.sortedKeys(""))
	}
}

func TestPatchTypes(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	pods := e.client.CoreV1().Pods("default")
	if _, err := pods.Create(ctx, testPod("web"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	smp := `{"metadata":{"labels":{"tier":"front"}},"spec":{"containers":[{"name":"c","image":"busybox:2"}]}}`
	p, err := pods.Patch(ctx, "web", types.StrategicMergePatchType, []byte(smp), metav1.PatchOptions{})
	if err != nil || p.Labels["tier"] != "front" || p.Labels["app"] != "web" || len(p.Spec.Containers) != 1 || p.Spec.Containers[0].Image != "busybox:2" {
		t.Fatalf("SMP: %v %+v", err, p)
	}
	if p.Generation != 2 {
		t.Errorf("generation after spec change = %d, want 2", p.Generation)
	}
	p, err = pods.Patch(ctx, "web", types.MergePatchType, []byte(`{"metadata":{"labels":{"tier":null}}}`), metav1.PatchOptions{})
	if err != nil || p.Labels["tier"] != "" {
		t.Fatalf("merge: %v %+v", err, p.Labels)
	}
	p, err = pods.Patch(ctx, "web", types.JSONPatchType, []byte(`[{"op":"add","path":"/metadata/annotations","value":{"x":"y"}}]`), metav1.PatchOptions{})
	if err != nil || p.Annotations["x"] != "y" {
		t.Fatalf("json patch: %v %+v", err, p.Annotations)
	}
	_, err = pods.Patch(ctx, "web", types.JSONPatchType, []byte(`[{"op":"test","path":"/metadata/name","value":"other"}]`), metav1.PatchOptions{})
	if err == nil {
		t.Fatal("failed json-patch test op accepted")
	}
	_, err = pods.Patch(ctx, "web", types.MergePatchType, []byte(`{"metadata":{"resourceVersion":"1"}}`), metav1.PatchOptions{})
	if !apierrors.IsConflict(err) {
		t.Fatalf("patch with stale RV: want 409, got %v", err)
	}
	_, err = pods.Patch(ctx, "web", types.MergePatchType, []byte(`{"spec":{"containers":[{"name":"c","image":""}]}}`), metav1.PatchOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("invalid patch result: want 422, got %v", err)
	}
}

func TestServerSideApply(t *testing.T) {
	e := newTestEnv(t)
	path := "/api/v1/namespaces/default/configmaps/applied?fieldManager=alice"
	body := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied"},"data":{"k":"1"}}`
	code, b, _ := e.do(t, "PATCH", path, "application/apply-patch+yaml", []byte(body))
	if code != 201 {
		t.Fatalf("apply create: %d %s", code, b)
	}
	code, b, _ = e.do(t, "PATCH", path, "application/apply-patch+yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  k: \"1\"\n  j: \"2\"\n"))
	if code != 200 || !strings.Contains(string(b), `"j":"2"`) {
		t.Fatalf("apply update: %d %s", code, b)
	}
	// another manager changing alice's field conflicts...
	other := "/api/v1/namespaces/default/configmaps/applied?fieldManager=bob"
	code, b, _ = e.do(t, "PATCH", other, "application/apply-patch+yaml", []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied"},"data":{"k":"9"}}`))
	if code != 409 || len(status(t, b).Details.Causes) == 0 {
		t.Fatalf("apply conflict: %d %s", code, b)
	}
	// ...unless forced
	code, b, _ = e.do(t, "PATCH", other+"&force=true", "application/apply-patch+yaml", []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied"},"data":{"k":"9"}}`))
	if code != 200 || !strings.Contains(string(b), `"k":"9"`) || !strings.Contains(string(b), `"manager":"bob"`) {
		t.Fatalf("forced apply: %d %s", code, b)
	}
	code, _, _ = e.do(t, "PATCH", "/api/v1/namespaces/default/configmaps/applied", "application/apply-patch+yaml", []byte(body))
	if code != 400 {
		t.Fatalf("apply without fieldManager: %d", code)
	}
}

func TestGracefulPodDelete(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	pods := e.client.CoreV1().Pods("default")
	pod := testPod("g")
	pod.Spec.NodeName = "n1"
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "g", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := pods.Get(ctx, "g", metav1.GetOptions{})
	if err != nil || got.DeletionTimestamp == nil || *got.DeletionGracePeriodSeconds != 30 || got.Generation != created.Generation+1 {
		t.Fatalf("graceful delete did not mark: %v %+v", err, got.ObjectMeta)
	}
	// a longer grace is a no-op; a shorter one moves deletionTimestamp earlier
	if err := pods.Delete(ctx, "g", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](60)}); err != nil {
		t.Fatal(err)
	}
	same, _ := pods.Get(ctx, "g", metav1.GetOptions{})
	if !same.DeletionTimestamp.Equal(got.DeletionTimestamp) {
		t.Fatal("longer grace changed deletionTimestamp")
	}
	if err := pods.Delete(ctx, "g", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](5)}); err != nil {
		t.Fatal(err)
	}
	shorter, _ := pods.Get(ctx, "g", metav1.GetOptions{})
	if !shorter.DeletionTimestamp.Before(got.DeletionTimestamp) || *shorter.DeletionGracePeriodSeconds != 5 {
		t.Fatalf("shorter grace not applied: %+v", shorter.ObjectMeta)
	}
	err = pods.Delete(ctx, "g", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0), Preconditions: &metav1.Preconditions{UID: ptr.To(types.UID("wrong"))}})
	if !apierrors.IsConflict(err) {
		t.Fatalf("UID precondition: want 409, got %v", err)
	}
	if err := pods.Delete(ctx, "g", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0), Preconditions: &metav1.Preconditions{UID: &created.UID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "g", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("want gone, got %v", err)
	}
	// unscheduled pods go at once
	if _, err := pods.Create(ctx, testPod("u"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "u", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "u", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("unscheduled pod not deleted at once: %v", err)
	}
}

func TestFinalizersHoldObject(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	cms := e.client.CoreV1().ConfigMaps("default")
	_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "f", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	code, b, _ := e.do(t, "DELETE", "/api/v1/namespaces/default/configmaps/f", "", nil)
	if code != 200 || !strings.Contains(string(b), "deletionTimestamp") {
		t.Fatalf("delete with finalizer: %d %s", code, b)
	}
	held, err := cms.Get(ctx, "f", metav1.GetOptions{})
	if err != nil || held.DeletionTimestamp == nil {
		t.Fatalf("finalizer did not hold: %v", err)
	}
	held.Finalizers = nil
	if _, err := cms.Update(ctx, held, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "f", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("removing the last finalizer should delete: %v", err)
	}
}

func TestWatchAndExpiry(t *testing.T) {
	e := newTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cms := e.client.CoreV1().ConfigMaps("default")
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	cm, _ := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "w"}}, metav1.CreateOptions{})
	cm.Data = map[string]string{"x": "y"}
	cms.Update(ctx, cm, metav1.UpdateOptions{})
	cms.Delete(ctx, "w", metav1.DeleteOptions{})
	var types []watch.EventType
	for len(types) < 3 {
		select {
		case ev := <-w.ResultChan():
			if _, ok := ev.Object.(*corev1.ConfigMap); !ok {
				t.Fatalf("event object %T", ev.Object)
			}
			types = append(types, ev.Type)
		case <-ctx.Done():
			t.Fatalf("events so far %v", types)
		}
	}
	if types[0] != watch.Added || types[1] != watch.Modified || types[2] != watch.Deleted {
		t.Fatalf("events %v", types)
	}
	e.store.compact()
	w2, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	ev := <-w2.ResultChan()
	st, ok := ev.Object.(*metav1.Status)
	if ev.Type != watch.Error || !ok || st.Code != 410 {
		t.Fatalf("want ERROR 410, got %v %+v", ev.Type, ev.Object)
	}
}

func TestTablesAndDiscovery(t *testing.T) {
	e := newTestEnv(t)
	e.client.CoreV1().Pods("default").Create(context.Background(), testPod("t"), metav1.CreateOptions{})
	code, b, _ := e.do(t, "GET", "/api/v1/namespaces/default/pods?limit=500", "", nil,
		"Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")
	var table metav1.Table
	if code != 200 || json.Unmarshal(b, &table) != nil || table.Kind != "Table" || len(table.Rows) != 1 || table.ResourceVersion == "" {
		t.Fatalf("table: %d %s", code, b)
	}
	if !strings.Contains(string(table.Rows[0].Object.Raw), `"kind":"PartialObjectMetadata"`) {
		t.Fatalf("row object: %s", table.Rows[0].Object.Raw)
	}
	groups, resources, err := e.client.Discovery().ServerGroupsAndResources()
	if err != nil || len(groups) == 0 {
		t.Fatalf("discovery: %v", err)
	}
	found := map[string]bool{}
	for _, l := range resources {
		for _, r := range l.APIResources {
			found[r.Name] = true
		}
	}
	for _, n := range []string{"pods", "pods/status", "pods/binding", "pods/log", "configmaps", "namespaces"} {
		if !found[n] {
			t.Errorf("discovery lacks %s", n)
		}
	}
	code, b, hdr := e.do(t, "GET", "/api", "", nil, "Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
	if code != 200 || !strings.Contains(hdr.Get("Content-Type"), "as=APIGroupDiscoveryList") || !strings.Contains(string(b), `"responseKind"`) {
		t.Fatalf("aggregated: %d %s %s", code, hdr.Get("Content-Type"), b)
	}
	code, b, _ = e.do(t, "GET", "/openapi/v3/api/v1", "", nil)
	if code != 200 || !strings.Contains(string(b), "fieldValidation") || !strings.Contains(string(b), "/api/v1/namespaces/{namespace}/pods/{name}") {
		t.Fatalf("openapi: %d %s", code, b)
	}
	code, b, _ = e.do(t, "GET", "/openapi/v2", "", nil, "Accept", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
	var v2 openapiv2.Document
	if code != 200 || proto.Unmarshal(b, &v2) != nil || v2.Swagger != "2.0" {
		t.Fatalf("openapi v2: %d %q", code, b)
	}
	code, b, _ = e.do(t, "GET", "/version", "", nil)
	if code != 200 || !strings.Contains(string(b), `"minor":"33"`) {
		t.Fatalf("version: %d %s", code, b)
	}
	for _, p := range []string{"/healthz", "/readyz?verbose", "/livez", "/metrics"} {
		if code, b, _ := e.do(t, "GET", p, "", nil); code != 200 {
			t.Errorf("%s: %d %s", p, code, b)
		}
	}
	_, b, _ = e.do(t, "GET", "/metrics", "", nil)
	if !strings.Contains(string(b), `apiserver_request_total{code="201",group="",resource="pods",subresource="",verb="create"} 1`) {
		t.Errorf("metrics lack the pod create: %s", b)
	}
}

func TestBindingAndStatus(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	pods := e.client.CoreV1().Pods("default")
	pods.Create(ctx, testPod("b"), metav1.CreateOptions{})
	bind := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}
	if err := pods.Bind(ctx, bind, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p, _ := pods.Get(ctx, "b", metav1.GetOptions{})
	if p.Spec.NodeName != "n1" {
		t.Fatalf("nodeName %q", p.Spec.NodeName)
	}
	if err := pods.Bind(ctx, bind, metav1.CreateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("second bind: want 409, got %v", err)
	}
	p.Status.Phase = corev1.PodRunning
	p.Spec.NodeName = "elsewhere" // ignored by /status
	s, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if err != nil || s.Status.Phase != corev1.PodRunning || s.Spec.NodeName != "n1" {
		t.Fatalf("status update: %v %+v", err, s)
	}
	running, err := pods.List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Running,spec.nodeName=n1"})
	if err != nil || len(running.Items) != 1 {
		t.Fatalf("field selector: %v %v", err, running)
	}
	code, b, _ := e.do(t, "GET", "/api/v1/namespaces/default/pods/b/log", "", nil)
	if code != 503 {
		t.Fatalf("log without an agent endpoint: %d %s", code, b)
	}
}
