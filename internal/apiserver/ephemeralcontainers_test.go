package apiserver

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/peapod/peapod/internal/apiserver/admission"
	"github.com/peapod/peapod/internal/auth"
	"github.com/peapod/peapod/internal/registry"
	"github.com/peapod/peapod/internal/registry/namespace"
	"github.com/peapod/peapod/internal/registry/pod"
)

// newPodEnv is a server with the real pods and namespaces resources and
// the defaulting admission plugin, so pods are validated as in peapod.
func newPodEnv(t *testing.T) *testEnv {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	store := newMemStore()
	api, err := New(Config{Scheme: scheme, Resources: []*registry.Resource{namespace.NewResource(), pod.NewResource()},
		Storage: store, MinWatchTimeout: time.Minute, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Admission: &admission.Chain{Mutating: []admission.MutationInterface{admission.NewDefaults()}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	client := kubernetes.NewForConfigOrDie(&rest.Config{Host: srv.URL, UserAgent: "kubectl/v1.33.1"})
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if _, err := client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return &testEnv{srv: srv, store: store, client: client, api: api}
}

func debugContainer(name, target string) corev1.EphemeralContainer {
	return corev1.EphemeralContainer{TargetContainerName: target, EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: name, Image: "busybox", Command: []string{"sh", "-c", "ps"},
		TerminationMessagePolicy: corev1.TerminationMessageReadFile}}
}

// kubectlDebugPatch is what `kubectl debug --image=busybox --container=<name>
// --target=<target>` sends: a strategic merge patch from the pod to the
// pod with the ephemeral container appended.
func kubectlDebugPatch(t *testing.T, p *corev1.Pod, ec corev1.EphemeralContainer) []byte {
	t.Helper()
	debug := p.DeepCopy()
	debug.Spec.EphemeralContainers = append(debug.Spec.EphemeralContainers, ec)
	podJS, _ := json.Marshal(p)
	debugJS, _ := json.Marshal(debug)
	patch, err := strategicpatch.CreateTwoWayMergePatch(podJS, debugJS, p)
	if err != nil {
		t.Fatal(err)
	}
	return patch
}

func TestEphemeralContainersPatchAsKubectlDebug(t *testing.T) {
	e := newPodEnv(t)
	ctx := context.Background()
	pods := e.client.CoreV1().Pods("default")
	created, err := pods.Create(ctx, testPod("web"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Status.Phase = corev1.PodRunning
	if _, err := pods.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := pods.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := pods.Patch(ctx, "web", types.StrategicMergePatchType, kubectlDebugPatch(t, got, debugContainer("dbg", "c")),
		metav1.PatchOptions{}, "ephemeralcontainers")
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Spec.EphemeralContainers) != 1 {
		t.Fatalf("ephemeral containers: %+v", out.Spec.EphemeralContainers)
	}
	ec := out.Spec.EphemeralContainers[0]
	if ec.Name != "dbg" || ec.TargetContainerName != "c" || ec.ImagePullPolicy != corev1.PullAlways ||
		ec.TerminationMessagePath != corev1.TerminationMessagePathDefault {
		t.Errorf("ephemeral container not defaulted: %+v", ec)
	}
	if out.Generation != 2 || out.Status.Phase != corev1.PodRunning || out.ResourceVersion == got.ResourceVersion {
		t.Errorf("generation %d phase %s rv %s", out.Generation, out.Status.Phase, out.ResourceVersion)
	}
	var entry *metav1.ManagedFieldsEntry
	for i, m := range out.ManagedFields {
		if m.Subresource == "ephemeralcontainers" {
			entry = &out.ManagedFields[i]
		}
	}
	if entry == nil || entry.Manager != "kubectl" || entry.Operation != metav1.ManagedFieldsOperationUpdate ||
		!strings.Contains(string(entry.FieldsV1.Raw), `"f:ephemeralContainers"`) || strings.Contains(string(entry.FieldsV1.Raw), `"f:containers"`) {
		t.Errorf("managedFields: %+v", out.ManagedFields)
	}

	// GET of the subresource is the pod.
	code, b, _ := e.do(t, "GET", "/api/v1/namespaces/default/pods/web/ephemeralcontainers", "", nil)
	var viaSub corev1.Pod
	if code != 200 || json.Unmarshal(b, &viaSub) != nil || viaSub.Kind != "Pod" || len(viaSub.Spec.EphemeralContainers) != 1 {
		t.Fatalf("GET ephemeralcontainers: %d %s", code, b)
	}

	// A second debug container, sent as kubectl sends it, keeps the first.
	out, err = pods.Patch(ctx, "web", types.StrategicMergePatchType, kubectlDebugPatch(t, out, debugContainer("dbg2", "")),
		metav1.PatchOptions{}, "ephemeralcontainers")
	if err != nil || len(out.Spec.EphemeralContainers) != 2 || out.Generation != 3 {
		t.Fatalf("second debug container: %v %+v", err, out)
	}
	if _, err := pods.Patch(ctx, "nope", types.StrategicMergePatchType, []byte(`{}`), metav1.PatchOptions{}, "ephemeralcontainers"); !apierrors.IsNotFound(err) {
		t.Errorf("missing pod: want 404, got %v", err)
	}
}

func TestEphemeralContainersTakeOnlyEphemeralContainers(t *testing.T) {
	e := newPodEnv(t)
	ctx := context.Background()
	pods := e.client.CoreV1().Pods("default")
	if _, err := pods.Create(ctx, testPod("web"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Everything but spec.ephemeralContainers is kept from the stored pod.
	patch := `{"metadata":{"labels":{"app":"changed"},"annotations":{"a":"b"}},` +
		`"spec":{"containers":[{"name":"c","image":"alpine"}],"activeDeadlineSeconds":5,` +
		`"ephemeralContainers":[{"name":"dbg","image":"busybox:1.36","terminationMessagePolicy":"File"}]},` +
		`"status":{"phase":"Failed"}}`
	out, err := pods.Patch(ctx, "web", types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "ephemeralcontainers")
	if err != nil {
		t.Fatal(err)
	}
	if out.Labels["app"] != "web" || out.Annotations["a"] != "" || out.Spec.Containers[0].Image != "busybox" ||
		out.Spec.ActiveDeadlineSeconds != nil || out.Status.Phase != corev1.PodPending {
		t.Errorf("fields other than ephemeralContainers taken: %+v", out)
	}
	if len(out.Spec.EphemeralContainers) != 1 || out.Spec.EphemeralContainers[0].ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("ephemeral containers: %+v", out.Spec.EphemeralContainers)
	}

	// JSON patch appends.
	jp := `[{"op":"add","path":"/spec/ephemeralContainers/-","value":{"name":"dbg2","image":"busybox","terminationMessagePolicy":"File"}}]`
	out, err = pods.Patch(ctx, "web", types.JSONPatchType, []byte(jp), metav1.PatchOptions{}, "ephemeralcontainers")
	if err != nil || len(out.Spec.EphemeralContainers) != 2 {
		t.Fatalf("JSON patch: %v %+v", err, out)
	}

	// PUT (client-go sends it as protobuf): a stale resourceVersion conflicts.
	stale := out.DeepCopy()
	stale.ResourceVersion = "1"
	stale.Spec.EphemeralContainers = append(stale.Spec.EphemeralContainers, debugContainer("dbg3", ""))
	if _, err := pods.UpdateEphemeralContainers(ctx, "web", stale, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("stale update: want 409, got %v", err)
	}
	stale.ResourceVersion = out.ResourceVersion
	stale.Labels = map[string]string{"app": "ignored"}
	upd, err := pods.UpdateEphemeralContainers(ctx, "web", stale, metav1.UpdateOptions{})
	if err != nil || len(upd.Spec.EphemeralContainers) != 3 || upd.Labels["app"] != "web" {
		t.Fatalf("update: %v %+v", err, upd)
	}

	// Server-side apply through the subresource.
	apply := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"ephemeralContainers":[{"name":"dbg4","image":"busybox","terminationMessagePolicy":"File"}]}}`
	code, b, _ := e.do(t, "PATCH", "/api/v1/namespaces/default/pods/web/ephemeralcontainers?fieldManager=applier", "application/apply-patch+yaml", []byte(apply))
	var applied corev1.Pod
	if code != 200 || json.Unmarshal(b, &applied) != nil || len(applied.Spec.EphemeralContainers) != 4 {
		t.Fatalf("apply: %d %s", code, b)
	}

	// Methods the subresource does not serve.
	if code, b, _ := e.do(t, "POST", "/api/v1/namespaces/default/pods/web/ephemeralcontainers", "application/json", []byte(`{}`)); code != 405 {
		t.Errorf("POST: %d %s", code, b)
	}
	if code, b, _ := e.do(t, "DELETE", "/api/v1/namespaces/default/pods/web/ephemeralcontainers", "", nil); code != 405 {
		t.Errorf("DELETE: %d %s", code, b)
	}
}

func TestEphemeralContainersInvalid(t *testing.T) {
	e := newPodEnv(t)
	ctx := context.Background()
	pods := e.client.CoreV1().Pods("default")
	p, err := pods.Create(ctx, testPod("web"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err = pods.Patch(ctx, "web", types.StrategicMergePatchType, kubectlDebugPatch(t, p, debugContainer("dbg", "c")),
		metav1.PatchOptions{}, "ephemeralcontainers")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, patchType, patch string
		messages               []string
	}{
		{"changed", "application/json-patch+json", `[{"op":"replace","path":"/spec/ephemeralContainers/0/image","value":"alpine"}]`,
			[]string{"spec.ephemeralContainers: Forbidden: existing ephemeral containers \"dbg\" may not be changed\n"}},
		{"removed", "application/merge-patch+json", `{"spec":{"ephemeralContainers":null}}`,
			[]string{"spec.ephemeralContainers: Forbidden: existing ephemeral containers \"dbg\" may not be removed\n"}},
		// a strategic merge patch without $setElementOrder puts the new one first
		{"invalid new one", "application/strategic-merge-patch+json",
			`{"spec":{"ephemeralContainers":[{"name":"c","targetContainerName":"nope","ports":[{"containerPort":80}],` +
				`"resources":{"limits":{"cpu":"1"}},"readinessProbe":{"exec":{"command":["true"]}},` +
				`"volumeMounts":[{"name":"v","mountPath":"/v","subPath":"x"}]}]}}`,
			[]string{
				`spec.ephemeralContainers[0].image: Required value`,
				`spec.ephemeralContainers[0].volumeMounts[0].name: Not found: "v"`,
				`spec.ephemeralContainers[0].name: Duplicate value: "c"`,
				`spec.ephemeralContainers[0].targetContainerName: Not found: "nope"`,
				`spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container`,
				`spec.ephemeralContainers[0].resources: Forbidden: cannot be set for an Ephemeral Container`,
				`spec.ephemeralContainers[0].readinessProbe: Forbidden: cannot be set for an Ephemeral Container`,
				`spec.ephemeralContainers[0].volumeMounts[0].subPath: Forbidden: cannot be set for an Ephemeral Container`,
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, b, _ := e.do(t, "PATCH", "/api/v1/namespaces/default/pods/web/ephemeralcontainers", c.patchType, []byte(c.patch))
			st := status(t, b)
			if code != 422 || st.Reason != metav1.StatusReasonInvalid || st.Details == nil || st.Details.Kind != "Pod" {
				t.Fatalf("%d %s", code, b)
			}
			var got []string
			for _, cause := range st.Details.Causes {
				got = append(got, cause.Field+": "+cause.Message)
			}
			if len(got) != len(c.messages) {
				t.Fatalf("causes:\n%s", strings.Join(got, "\n"))
			}
			for i, want := range c.messages {
				if !strings.HasPrefix(got[i], want) {
					t.Errorf("cause %d: %q, want %q", i, got[i], want)
				}
			}
			if !strings.HasPrefix(st.Message, `Pod "web" is invalid: `) {
				t.Errorf("message %q", st.Message)
			}
		})
	}
	if cur, _ := pods.Get(ctx, "web", metav1.GetOptions{}); cur.ResourceVersion != p.ResourceVersion {
		t.Errorf("an invalid request was stored")
	}
}

// The pod's own update keeps refusing changes to ephemeral containers
// and accepts them unchanged; create refuses them.
func TestPodUpdateAndEphemeralContainers(t *testing.T) {
	e := newPodEnv(t)
	ctx := context.Background()
	pods := e.client.CoreV1().Pods("default")
	p, err := pods.Create(ctx, testPod("web"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err = pods.Patch(ctx, "web", types.StrategicMergePatchType, kubectlDebugPatch(t, p, debugContainer("dbg", "c")),
		metav1.PatchOptions{}, "ephemeralcontainers")
	if err != nil {
		t.Fatal(err)
	}
	p.Labels["tier"] = "front"
	p.Spec.Containers[0].Image = "busybox:1.37"
	upd, err := pods.Update(ctx, p, metav1.UpdateOptions{})
	if err != nil || len(upd.Spec.EphemeralContainers) != 1 {
		t.Fatalf("update carrying the ephemeral containers unchanged: %v", err)
	}
	upd.Spec.EphemeralContainers = append(upd.Spec.EphemeralContainers, debugContainer("dbg2", ""))
	_, err = pods.Update(ctx, upd, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`") {
		t.Fatalf("adding through the pod update: %v", err)
	}
	_, err = pods.Patch(ctx, "web", types.JSONPatchType, []byte(`[{"op":"remove","path":"/spec/ephemeralContainers/0"}]`), metav1.PatchOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("removing through a pod patch: %v", err)
	}
	withEC := testPod("other")
	withEC.Spec.EphemeralContainers = []corev1.EphemeralContainer{debugContainer("dbg", "c")}
	_, err = pods.Create(ctx, withEC, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.ephemeralContainers: Forbidden: cannot be set on create") {
		t.Fatalf("create with ephemeral containers: %v", err)
	}
}

func TestEphemeralContainersDiscovery(t *testing.T) {
	e := newPodEnv(t)
	_, lists, err := e.client.Discovery().ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	var found *metav1.APIResource
	for _, l := range lists {
		for i, r := range l.APIResources {
			if l.GroupVersion == "v1" && r.Name == "pods/ephemeralcontainers" {
				found = &l.APIResources[i]
			}
		}
	}
	if found == nil || found.Kind != "Pod" || !found.Namespaced || strings.Join(found.Verbs, ",") != "get,patch,update" {
		t.Fatalf("pods/ephemeralcontainers in discovery: %+v", found)
	}
	code, b, _ := e.do(t, "GET", "/api", "", nil, "Accept", aggregatedContentType)
	if code != 200 || !strings.Contains(string(b),
		`{"subresource":"ephemeralcontainers","responseKind":{"group":"","version":"v1","kind":"Pod"},"verbs":["get","patch","update"]}`) {
		t.Fatalf("aggregated discovery: %d %s", code, b)
	}
	code, b, _ = e.do(t, "GET", "/openapi/v3/api/v1", "", nil, "Accept-Encoding", "identity")
	if code != 200 || !strings.Contains(string(b), `"/api/v1/namespaces/{namespace}/pods/{name}/ephemeralcontainers"`) {
		t.Fatalf("openapi v3 lacks the ephemeralcontainers path: %d", code)
	}
}

type fixedUser struct{ u auth.User }

func (f fixedUser) AuthenticateRequest(*http.Request) (auth.User, error) { return f.u, nil }

type denyAll struct{}

func (denyAll) Authorize(context.Context, auth.User, auth.Request) bool { return false }

// A denied subresource request is reported with the subresource, as
// kube's forbiddenMessage.
func TestForbiddenNamesTheSubresource(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	api, err := New(Config{Scheme: scheme, Resources: []*registry.Resource{namespace.NewResource(), pod.NewResource()},
		Storage: newMemStore(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Authenticator: fixedUser{auth.User{Name: "jane", Groups: []string{auth.GroupAuthenticated}}}, Authorizer: denyAll{}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	e := &testEnv{srv: srv}
	for _, c := range []struct{ method, path, want string }{
		{"PATCH", "/api/v1/namespaces/default/pods/web/ephemeralcontainers",
			`pods "web" is forbidden: User "jane" cannot patch resource "pods/ephemeralcontainers" in API group "" in the namespace "default"`},
		{"GET", "/api/v1/namespaces", `namespaces is forbidden: User "jane" cannot list resource "namespaces" in API group "" at the cluster scope`},
	} {
		code, b, _ := e.do(t, c.method, c.path, "application/strategic-merge-patch+json", []byte(`{}`))
		if st := status(t, b); code != 403 || st.Message != c.want {
			t.Errorf("%s %s: %d %q, want %q", c.method, c.path, code, st.Message, c.want)
		}
	}
}
