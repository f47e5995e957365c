package apiserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// A namespace with spec.finalizers turns Terminating on delete, refuses new
// content, and goes away once the finalize subresource empties them.
func TestNamespaceLifecycle(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	nss := e.client.CoreV1().Namespaces()
	_, err := nss.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"},
		Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.api.Start(ctx) // the namespace cache answers the create checks below
	if err := nss.Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := nss.Delete(ctx, "default", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("deleting default: want 403, got %v", err)
	}
	ns, err := nss.Get(ctx, "doomed", metav1.GetOptions{})
	if err != nil || ns.DeletionTimestamp == nil || ns.Status.Phase != corev1.NamespaceTerminating {
		t.Fatalf("not terminating: %v %+v", err, ns)
	}
	_, err = e.client.CoreV1().ConfigMaps("doomed").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("create in terminating namespace: want 403, got %v", err)
	}
	ns.Spec.Finalizers = nil
	if _, err := nss.Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := nss.Get(ctx, "doomed", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("finalized namespace should be gone: %v", err)
	}
}

// pods/log is proxied to the agent endpoint of the pod's node.
func TestLogProxy(t *testing.T) {
	e := newTestEnv(t)
	var gotPath, gotQuery, gotAuth string
	agent := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotQuery, gotAuth = r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("hello from the agent\n"))
	}))
	defer agent.Close()
	ctx := context.Background()
	addTestNode(ctx, t, e, agent.URL)
	pod := testPod("logged")
	pod.Spec.NodeName = "n1"
	if _, err := e.client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	code, body, _ := e.do(t, "GET", "/api/v1/namespaces/default/pods/logged/log?container=c&tailLines=5", "", nil, "Authorization", "Bearer user-secret")
	if code != 200 || string(body) != "hello from the agent\n" {
		t.Fatalf("log: %d %s", code, body)
	}
	if gotPath != "/containerLogs/default/logged/c" || !strings.Contains(gotQuery, "tailLines=5") || gotAuth != "Bearer node-secret" {
		t.Fatalf("agent saw %s?%s with %q", gotPath, gotQuery, gotAuth)
	}
	code, body, _ = e.do(t, "GET", "/api/v1/namespaces/default/pods/logged/log?container=nope", "", nil)
	if code != 400 {
		t.Fatalf("unknown container: %d %s", code, body)
	}
}

func testNodeResource() *registryResource {
	r := &registryResource{GVR: schema.GroupVersionResource{Version: "v1", Resource: "nodes"}, Kind: "Node", ListKind: "NodeList", SingularName: "node",
		New: func() runtimeObject { return &corev1.Node{} }, NewList: func() runtimeObject { return &corev1.NodeList{} },
		Strategy: testStrategy{validate: func(runtimeObject) field.ErrorList { return nil }}}
	return r
}

// A panicking handler answers 500 and the server keeps serving.
func TestPanicRecovered(t *testing.T) {
	e := newTestEnv(t)
	e.api.resources[schema.GroupVersion{Version: "v1"}]["configmaps"].Strategy = panicStrategy{}
	code, body, _ := e.do(t, "POST", "/api/v1/namespaces/default/configmaps", "application/json", []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"boom"}}`))
	if code != 500 || !strings.Contains(string(body), "InternalError") {
		t.Fatalf("panic: %d %s", code, body)
	}
	if code, _, _ := e.do(t, "GET", "/api/v1/namespaces", "", nil); code != 200 {
		t.Fatalf("server down after a panic: %d", code)
	}
	if _, ok := e.store.objs["/registry/configmaps/default/boom"]; ok {
		t.Fatal("object stored despite the panic")
	}
}

type panicStrategy struct{ testStrategy }

func (panicStrategy) Validate(context.Context, runtimeObject) field.ErrorList { panic("boom") }

func TestInFlightLimit(t *testing.T) {
	e := newTestEnv(t)
	for i := 0; i < cap(e.api.inflight); i++ {
		e.api.inflight <- struct{}{}
	}
	code, body, hdr := e.do(t, "GET", "/api/v1/namespaces", "", nil)
	if code != 429 || hdr.Get("Retry-After") != "1" {
		t.Fatalf("full server: %d %s", code, body)
	}
	if code, _, _ := e.do(t, "GET", "/api/v1/namespaces?watch=true&timeoutSeconds=1", "", nil); code != 200 {
		t.Fatalf("watches are not limited: %d", code)
	}
	<-e.api.inflight
	if code, _, _ := e.do(t, "GET", "/api/v1/namespaces", "", nil); code != 200 {
		t.Fatalf("after a slot frees: %d", code)
	}
}

// A watch over WebSocket gets one JSON event per text message.
func TestWatchOverWebSocket(t *testing.T) {
	e := newTestEnv(t)
	wsURL := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/api/v1/namespaces/default/configmaps?watch=true"
	conn, err := websocket.Dial(wsURL, "", e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	e.client.CoreV1().ConfigMaps("default").Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ws"}}, metav1.CreateOptions{})
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var msg string
	if err := websocket.Message.Receive(conn, &msg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, `"type":"ADDED"`) || !strings.Contains(msg, `"name":"ws"`) {
		t.Fatalf("message %s", msg)
	}
}

// The metadata client (client-go/metadata) gets PartialObjectMetadata.
func TestMetadataClient(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "m", Labels: map[string]string{"a": "b"}}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
	mc := metadata.NewForConfigOrDie(&rest.Config{Host: e.srv.URL})
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	list, err := mc.Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 || list.Items[0].Labels["a"] != "b" {
		t.Fatalf("metadata list: %v %+v", err, list)
	}
	one, err := mc.Resource(gvr).Namespace("default").Get(ctx, "m", metav1.GetOptions{})
	if err != nil || one.Name != "m" || one.Labels["a"] != "b" {
		t.Fatalf("metadata get: %v %+v", err, one)
	}
	w, err := mc.Resource(gvr).Namespace("default").Watch(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := <-w.ResultChan()
	if p, ok := ev.Object.(*metav1.PartialObjectMetadata); !ok || p.Name != "m" {
		t.Fatalf("metadata watch: %v %#v", ev.Type, ev.Object)
	}
}
