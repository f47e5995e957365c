package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/peapod/peapod/internal/storage"
)

// apiServer is one `peapod server` process under test.
type apiServer struct {
	t          *testing.T
	dataDir    string
	port       int
	extra      []string
	cmd        *exec.Cmd
	log        *os.File
	kubeconfig string
	cacheDir   string
}

// apiStart starts peapod server on a free port in a fresh data dir; the
// process is killed and the directory removed at the end of the test.
func apiStart(t *testing.T, extra ...string) *apiServer {
	t.Helper()
	s := &apiServer{t: t, dataDir: t.TempDir(), port: storageFreePort(t), extra: extra}
	s.kubeconfig = filepath.Join(s.dataDir, "admin.kubeconfig")
	s.cacheDir = filepath.Join(s.dataDir, "kubectl-cache")
	s.start()
	t.Cleanup(s.kill9)
	return s
}

func (s *apiServer) start() {
	s.t.Helper()
	args := append([]string{"server", "--data-dir", s.dataDir, "--secure-port", strconv.Itoa(s.port), "--bind-address", "127.0.0.1", "--disable-agent"}, s.extra...)
	s.cmd = exec.Command(peapodBin, args...)
	logf, err := os.OpenFile(filepath.Join(s.dataDir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	s.log = logf
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(s.kubeconfig); err == nil {
			if code, _ := s.raw("GET", "/readyz", "", nil, ""); code == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			s.kill9()
			out, _ := os.ReadFile(filepath.Join(s.dataDir, "server.log"))
			s.t.Fatalf("peapod server did not become ready:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill9 kills the server without letting it clean up.
func (s *apiServer) kill9() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
	if s.log != nil {
		s.log.Close()
		s.log = nil
	}
}

func (s *apiServer) token() string {
	b, err := os.ReadFile(filepath.Join(s.dataDir, "admin-token"))
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func (s *apiServer) httpClient() *http.Client {
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(filepath.Join(s.dataDir, "pki", "ca.crt"))
	if err == nil {
		pool.AppendCertsFromPEM(ca)
	}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// raw sends one HTTPS request with token ("" for none) and returns the
// code and body (0 if the server is unreachable).
func (s *apiServer) raw(method, path, ctype string, body []byte, token string) (int, []byte) {
	req, _ := http.NewRequest(method, fmt.Sprintf("https://127.0.0.1:%d%s", s.port, path), bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.httpClient().Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (s *apiServer) kubectlCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "/usr/bin/kubectl", append([]string{"--cache-dir", s.cacheDir}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.kubeconfig)
	cmd.Dir = s.dataDir
	return cmd
}

// kubectl runs kubectl and fails the test on error.
func (s *apiServer) kubectl(args ...string) string {
	s.t.Helper()
	out, err := s.kubectlCmd(context.Background(), args...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// sh runs a shell pipeline with KUBECONFIG set.
func (s *apiServer) sh(script string) string {
	s.t.Helper()
	cmd := exec.Command("bash", "-o", "pipefail", "-c", script)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.kubeconfig)
	cmd.Dir = s.dataDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return string(out)
}

func (s *apiServer) clientset() *kubernetes.Clientset {
	s.t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	if err != nil {
		s.t.Fatal(err)
	}
	return kubernetes.NewForConfigOrDie(cfg)
}

func (s *apiServer) write(name, content string) {
	s.t.Helper()
	if err := os.WriteFile(filepath.Join(s.dataDir, name), []byte(content), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

func apiContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Fatalf("%s: want %q in:\n%s", what, w, got)
		}
	}
}

const apiSeedSecret = `apiVersion: v1
kind: Secret
metadata:
  name: mysecret
type: Opaque
data:
  username: YWRtaW4=
  password: MTIzNDU2
`

const apiPod = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  containers:
  - name: c
    image: IMAGE
    command: ["sleep", "3600"]
`

// apiKubectlSuite is the kubectl part of issue 2's "Must show" list.
func apiKubectlSuite(t *testing.T, s *apiServer) {
	s.write("secret.yaml", apiSeedSecret)
	s.kubectl("apply", "-f", "secret.yaml")
	if got := s.sh(fmt.Sprintf("kubectl --cache-dir %s get secret mysecret -o jsonpath='{.data.username}' | base64 -d", s.cacheDir)); got != "admin" {
		t.Fatalf("username = %q", got)
	}
	s.write("username.txt", "admin")
	s.kubectl("create", "secret", "generic", "user", "--from-file=./username.txt")
	apiContains(t, "secret user", s.kubectl("get", "secret", "user", "-o", "jsonpath={.data.username\\.txt}"), "YWRtaW4=")
	s.write("game.properties", "enemies=aliens\nlives=3\n# comment\n")
	s.kubectl("create", "configmap", "game", "--from-file=game.properties")
	s.kubectl("create", "configmap", "game-env", "--from-env-file=game.properties")
	apiContains(t, "configmap game", s.kubectl("get", "configmap", "game", "-o", "yaml"), "game.properties: |", "enemies=aliens")
	apiContains(t, "configmap game-env", s.kubectl("get", "configmap", "game-env", "-o", "jsonpath={.data}"), `"enemies":"aliens"`, `"lives":"3"`)
	if out, err := s.kubectlCmd(context.Background(), "create", "secret", "generic", "user", "--from-file=./username.txt").CombinedOutput(); err == nil || !strings.Contains(string(out), "already exists") {
		t.Fatalf("duplicate create: %v %s", err, out)
	}

	// client-side apply twice (strategic merge patch), then server-side apply
	s.write("pod.yaml", strings.Replace(apiPod, "IMAGE", "busybox", 1))
	apiContains(t, "apply 1", s.kubectl("apply", "-f", "pod.yaml"), "pod/web created")
	s.write("pod.yaml", strings.Replace(apiPod, "IMAGE", "busybox:1.36", 1))
	apiContains(t, "apply 2", s.kubectl("apply", "-f", "pod.yaml"), "pod/web configured")
	apiContains(t, "image after SMP", s.kubectl("get", "pod", "web", "-o", "jsonpath={.spec.containers[0].image}"), "busybox:1.36")
	s.write("pod-ssa.yaml", strings.Replace(strings.Replace(apiPod, "IMAGE", "busybox:1.37", 1), "app: web", "app: web\n    tier: front", 1))
	apiContains(t, "apply --server-side", s.kubectl("apply", "--server-side", "--force-conflicts", "-f", "pod-ssa.yaml"), "serverside-applied")
	yaml := s.kubectl("get", "pod", "web", "-o", "yaml", "--show-managed-fields")
	apiContains(t, "get -o yaml", yaml, "image: busybox:1.37", "tier: front", "manager: kubectl", "operation: Apply", "restartPolicy: Always", "terminationGracePeriodSeconds: 30")

	// tables
	apiContains(t, "get pods", s.kubectl("get", "pods"), "NAME", "READY", "STATUS", "RESTARTS", "AGE", "web", "0/1", "Pending")
	apiContains(t, "get pods -o wide", s.kubectl("get", "pods", "-o", "wide"), "IP", "NODE")

	// get -w stays open and sees a change
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w := s.kubectlCmd(ctx, "get", "pods", "-w", "--show-labels")
	stdout, _ := w.StdoutPipe()
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	apiWaitLine(t, lines, "app=web")
	time.Sleep(300 * time.Millisecond)
	s.kubectl("label", "pod", "web", "watched=yes")
	apiWaitLine(t, lines, "watched=yes")
	cancel()
	w.Wait()

	apiContains(t, "describe", s.kubectl("describe", "pod", "web"), "Name:", "web", "Namespace:", "default", "busybox:1.37", "watched=yes")
	apiContains(t, "delete", s.kubectl("delete", "pod", "web"), `pod "web" deleted`)
	s.kubectl("wait", "--for=delete", "pod/web", "--timeout=10s")

	// a namespace goes away once the namespace controller emptied and
	// finalized it
	s.kubectl("create", "namespace", "scratch")
	s.kubectl("-n", "scratch", "create", "configmap", "leftover")
	apiContains(t, "delete namespace", s.kubectl("delete", "namespace", "scratch", "--timeout=60s"), `namespace "scratch" deleted`)
	if out, err := s.kubectlCmd(context.Background(), "get", "namespace", "scratch").CombinedOutput(); err == nil || !strings.Contains(string(out), "NotFound") {
		t.Fatalf("namespace still there: %s", out)
	}

	// a scheduled pod deletes gracefully: it stays with deletionTimestamp
	s.write("bound.yaml", strings.Replace(strings.Replace(apiPod, "IMAGE", "busybox", 1), "spec:\n", "spec:\n  nodeName: nowhere\n", 1))
	s.kubectl("apply", "-f", "bound.yaml")
	s.kubectl("delete", "pod", "web", "--wait=false")
	apiContains(t, "graceful delete", s.kubectl("get", "pod", "web", "-o", "jsonpath={.metadata.deletionGracePeriodSeconds}"), "30")
	s.kubectl("delete", "pod", "web", "--grace-period=0", "--force")
	s.kubectl("wait", "--for=delete", "pod/web", "--timeout=10s")
}

func apiWaitLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("kubectl get -w ended before %q", want)
			}
			if strings.Contains(l, want) {
				return
			}
		case <-timeout:
			t.Fatalf("kubectl get -w did not show %q", want)
		}
	}
}

// apiClientGoSuite: a typed client and an informer see create, update and
// delete; a watch that falls behind a compaction gets 410 and the
// reflector recovers.
func apiClientGoSuite(t *testing.T, s *apiServer, etcd *clientv3.Client) {
	cs := s.clientset()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ns := "informer"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	events := make(chan string, 100)
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().Pods().Informer()
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { events <- "add " + o.(*corev1.Pod).Name },
		UpdateFunc: func(_, o any) { events <- "update " + o.(*corev1.Pod).Name + " " + o.(*corev1.Pod).Labels["v"] },
		DeleteFunc: func(o any) {
			if p, ok := o.(*corev1.Pod); ok {
				events <- "delete " + p.Name
			}
		},
	})
	factory.Start(ctx.Done())
	defer func() { cancel(); factory.Shutdown() }()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	pods := cs.CoreV1().Pods(ns)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p1", Labels: map[string]string{"v": "1"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	apiWaitEvent(t, events, "add p1")
	if _, err := pods.Patch(ctx, "p1", "application/merge-patch+json", []byte(`{"metadata":{"labels":{"v":"2"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	apiWaitEvent(t, events, "update p1 2")
	if err := pods.Delete(ctx, "p1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	apiWaitEvent(t, events, "delete p1")

	// Fall behind a compaction: a watch from an old revision gets 410.
	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	oldRV := list.ResourceVersion
	for i := 0; i < 3; i++ {
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "churn-"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := etcd.Get(ctx, "compact_rev_key")
	if err != nil {
		t.Fatal(err)
	}
	if err := storage.Compact(ctx, etcd, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	// the watch cache learns of the compaction through compact_rev_key
	deadline := time.Now().Add(15 * time.Second)
	for {
		w, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: oldRV})
		if err != nil {
			t.Fatalf("watch from a compacted revision: want an ERROR event, got %v", err)
		}
		var ev watch.Event
		select {
		case ev = <-w.ResultChan():
		case <-time.After(time.Second):
		}
		w.Stop()
		if st, ok := ev.Object.(*metav1.Status); ok && ev.Type == watch.Error && st.Code == 410 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("want ERROR 410, got %s %#v", ev.Type, ev.Object)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// A reflector whose first watch starts at that compacted revision
	// relists and then sees new pods.
	first := true
	lw := &cache.ListWatch{
		ListFunc: func(o metav1.ListOptions) (runtime.Object, error) { return pods.List(ctx, o) },
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
			if first {
				first = false
				o.ResourceVersion = oldRV
			}
			return pods.Watch(ctx, o)
		},
	}
	seen := make(chan string, 10)
	_, ctrl := cache.NewInformerWithOptions(cache.InformerOptions{ListerWatcher: lw, ObjectType: &corev1.Pod{},
		Handler: cache.ResourceEventHandlerFuncs{AddFunc: func(o any) { seen <- "add " + o.(*corev1.Pod).Name }}})
	go ctrl.Run(ctx.Done())
	pod.Name = "after-compaction"
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	apiWaitEvent(t, seen, "add after-compaction")
	apiWaitEvent(t, events, "add after-compaction")
}

func apiWaitEvent(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	var got []string
	for {
		select {
		case e := <-ch:
			if e == want {
				return
			}
			got = append(got, e)
		case <-timeout:
			t.Fatalf("no %q event; saw %v", want, got)
		}
	}
}

// apiBadInputSuite: every bad request gets the right Status, nothing
// partial is stored and the server stays up.
func apiBadInputSuite(t *testing.T, s *apiServer) {
	tok := s.token()
	cm := func(name, extra string) []byte {
		return []byte(fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q}%s}`, name, extra))
	}
	big := strings.Repeat("x", 1700*1024)
	cases := []struct {
		name, method, path, ctype string
		body                      []byte
		token                     string
		code                      int
		reason                    string
	}{
		{"malformed json", "POST", "/api/v1/namespaces/default/configmaps", "application/json", []byte(`{"kind":`), tok, 400, "BadRequest"},
		{"malformed yaml", "POST", "/api/v1/namespaces/default/configmaps", "application/yaml", []byte("kind: [\n"), tok, 400, "BadRequest"},
		{"unknown resource", "GET", "/api/v1/namespaces/default/widgets", "", nil, tok, 404, "NotFound"},
		{"unknown group", "POST", "/apis/example.com/v1/namespaces/default/things", "application/json", []byte(`{}`), tok, 404, "NotFound"},
		{"invalid name", "POST", "/api/v1/namespaces/default/configmaps", "application/json", cm("Not_Valid", ""), tok, 422, "Invalid"},
		{"invalid pod", "POST", "/api/v1/namespaces/default/pods", "application/json",
			[]byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bad"},"spec":{"containers":[{"name":"a"},{"name":"a","image":"x"}]}}`), tok, 422, "Invalid"},
		{"duplicate create", "POST", "/api/v1/namespaces/default/configmaps", "application/json", cm("game", ""), tok, 409, "AlreadyExists"},
		{"stale resourceVersion", "PUT", "/api/v1/namespaces/default/configmaps/game", "application/json", []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"game","resourceVersion":"2"}}`), tok, 409, "Conflict"},
		{"object over 1.5 MiB", "POST", "/api/v1/namespaces/default/pods", "application/json",
			[]byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"huge"},"spec":{"containers":[{"name":"a","image":"x","args":["` + big + `"]}]}}`), tok, 413, "RequestEntityTooLarge"},
		{"body over 3 MiB", "POST", "/api/v1/namespaces/default/configmaps", "application/json", cm("huger", `,"data":{"a":"`+big+big+`"}`), tok, 413, "RequestEntityTooLarge"},
		{"no token", "GET", "/api/v1/namespaces", "", nil, "", 401, "Unauthorized"},
		{"wrong token", "GET", "/api/v1/namespaces", "", nil, "wrong", 401, "Unauthorized"},
	}
	for _, c := range cases {
		code, body := s.raw(c.method, c.path, c.ctype, c.body, c.token)
		var st metav1.Status
		json.Unmarshal(body, &st)
		if code != c.code || string(st.Reason) != c.reason {
			t.Errorf("%s: %d %s, want %d %s", c.name, code, body, c.code, c.reason)
		}
		if c.name == "invalid pod" && (st.Details == nil || len(st.Details.Causes) < 2) {
			t.Errorf("invalid pod: want a cause per field, got %s", body)
		}
	}
	for _, path := range []string{"configmaps/Not_Valid", "pods/huge", "configmaps/huger", "pods/bad"} {
		if code, _ := s.raw("GET", "/api/v1/namespaces/default/"+path, "", nil, tok); code != 404 {
			t.Errorf("%s was stored (%d)", path, code)
		}
	}
	// kubectl's own view of an unknown kind and of an unknown field
	s.write("widget.yaml", "apiVersion: v1\nkind: Widget\nmetadata:\n  name: w\n")
	if out, err := s.kubectlCmd(context.Background(), "apply", "-f", "widget.yaml").CombinedOutput(); err == nil || !strings.Contains(string(out), `no matches for kind "Widget"`) {
		t.Errorf("unknown kind: %v %s", err, out)
	}
	s.write("badpod.yaml", strings.Replace(strings.Replace(apiPod, "IMAGE", "busybox", 1), "spec:\n", "spec:\n  foo: 1\n", 1))
	if out, err := s.kubectlCmd(context.Background(), "apply", "-f", "badpod.yaml").CombinedOutput(); err == nil || !strings.Contains(string(out), `strict decoding error: unknown field "spec.foo"`) {
		t.Errorf("unknown field: %v %s", err, out)
	}
	if code, body := s.raw("GET", "/healthz", "", nil, ""); code != 200 {
		t.Fatalf("server not healthy after bad input: %d %s", code, body)
	}
}

// apiEncryptionCheck reads the seed secret straight from etcd.
func apiEncryptionCheck(t *testing.T, endpoint string) {
	out, err := exec.Command("/usr/bin/etcdctl", "--endpoints", endpoint, "get", "/registry/secrets/default/mysecret").CombinedOutput()
	if err != nil {
		t.Fatalf("etcdctl: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "/registry/secrets/default/mysecret") {
		t.Fatalf("etcdctl found no secret:\n%s", out)
	}
	for _, plain := range []string{"admin", "123456", "YWRtaW4=", "MTIzNDU2", "username"} {
		if strings.Contains(string(out), plain) {
			t.Fatalf("plaintext %q in etcd:\n%q", plain, out)
		}
	}
}

// apiRestartCheck kills the server with SIGKILL and starts it again: every
// object and resourceVersion is still there.
func apiRestartCheck(t *testing.T, s *apiServer) {
	before := s.kubectl("get", "secrets,configmaps,namespaces", "-A", "-o", "custom-columns=KIND:.kind,NS:.metadata.namespace,NAME:.metadata.name,RV:.metadata.resourceVersion,UID:.metadata.uid", "--sort-by=.metadata.name")
	s.kill9()
	s.start()
	after := s.kubectl("get", "secrets,configmaps,namespaces", "-A", "-o", "custom-columns=KIND:.kind,NS:.metadata.namespace,NAME:.metadata.name,RV:.metadata.resourceVersion,UID:.metadata.uid", "--sort-by=.metadata.name")
	if before != after {
		t.Fatalf("objects changed across kill -9:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	apiContains(t, "after restart", before, "mysecret", "game-env", "kube-node-lease")
	if got := s.sh(fmt.Sprintf("kubectl --cache-dir %s get secret mysecret -o jsonpath='{.data.password}' | base64 -d", s.cacheDir)); got != "123456" {
		t.Fatalf("password after restart = %q", got)
	}
}

func apiEmbeddedEtcdClient(t *testing.T, s *apiServer) (*clientv3.Client, string) {
	b, err := os.ReadFile(filepath.Join(s.dataDir, "etcd", "client-url"))
	if err != nil {
		t.Fatal(err)
	}
	url := strings.TrimSpace(string(b))
	c, err := storage.NewClient(storage.ClientConfig{Endpoints: []string{url}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, url
}

func TestAPIServerEmbeddedEtcd(t *testing.T) {
	s := apiStart(t)
	t.Run("kubectl", func(t *testing.T) { s.t = t; apiKubectlSuite(t, s) })
	etcd, url := apiEmbeddedEtcdClient(t, s)
	t.Run("client-go", func(t *testing.T) { s.t = t; apiClientGoSuite(t, s, etcd) })
	t.Run("encryption", func(t *testing.T) { apiEncryptionCheck(t, url) })
	t.Run("bad input", func(t *testing.T) { s.t = t; apiBadInputSuite(t, s) })
	t.Run("kill -9 and restart", func(t *testing.T) { s.t = t; apiRestartCheck(t, s) })
	t.Run("SIGTERM", func(t *testing.T) { s.t = t; apiSigtermCheck(t, s) })
	s.t = t
}

// apiSigtermCheck: SIGTERM stops the server cleanly and promptly, even with
// a watch open.
func apiSigtermCheck(t *testing.T, s *apiServer) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := s.kubectlCmd(ctx, "get", "pods", "-w")
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	start := time.Now()
	s.cmd.Process.Signal(syscall.SIGTERM)
	err := s.cmd.Wait()
	s.cmd = nil
	if err != nil {
		t.Fatalf("server exit after SIGTERM: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
	w.Wait() // kubectl get -w ends when the server closes the watch
}

func TestAPIServerExternalEtcd(t *testing.T) {
	etcd := storageStartExternal(t)
	s := apiStart(t, "--etcd-servers", etcd.endpoint)
	t.Run("kubectl", func(t *testing.T) { s.t = t; apiKubectlSuite(t, s) })
	t.Run("client-go", func(t *testing.T) { s.t = t; apiClientGoSuite(t, s, etcd.client) })
	t.Run("encryption", func(t *testing.T) { apiEncryptionCheck(t, etcd.endpoint) })
	t.Run("bad input", func(t *testing.T) { s.t = t; apiBadInputSuite(t, s) })
	t.Run("kill -9 and restart", func(t *testing.T) { s.t = t; apiRestartCheck(t, s) })
	s.t = t
}
