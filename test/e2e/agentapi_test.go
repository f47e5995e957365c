package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/peapod/peapod/internal/agent/server"
	"github.com/peapod/peapod/internal/runtime"
)

const agentAPIToken = "agentapi-e2e-token"

// agentAPIEnv is the agent API (internal/agent/server) on a TLS test
// server over the real runc driver, with pods created directly through
// the driver, labelled as the agent labels them.
type agentAPIEnv struct {
	*runtimeEnv
	ts  *httptest.Server
	cfg *rest.Config
}

func agentAPINewEnv(t *testing.T, token string) *agentAPIEnv {
	t.Helper()
	e := &agentAPIEnv{runtimeEnv: runtimeNewEnv(t)}
	e.ts = httptest.NewTLSServer(server.New(server.Config{
		Pods:         server.NewRuntimeLookup(e.d),
		Runtime:      e.d,
		Authenticate: server.StaticToken(token),
		Logf:         t.Logf,
	}))
	t.Cleanup(e.ts.Close)
	e.cfg = &rest.Config{Host: e.ts.URL, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	return e
}

// pod starts a sandbox default/<name> with the agent's labels.
func (e *agentAPIEnv) pod(name string) (sandboxID string, cfg *runtime.SandboxConfig) {
	e.t.Helper()
	cfg = e.sandboxConfig(name)
	cfg.Labels = map[string]string{runtime.LabelPodName: name, runtime.LabelPodNamespace: "default", runtime.LabelPodUID: cfg.UID}
	return e.runPod(cfg), cfg
}

// container creates and starts one attempt of a labelled container.
func (e *agentAPIEnv) container(sb string, pod *runtime.SandboxConfig, attempt uint32, c v1.Container) string {
	e.t.Helper()
	c.Image = "busybox"
	labels := map[string]string{runtime.LabelPodName: pod.Name, runtime.LabelPodNamespace: pod.Namespace,
		runtime.LabelPodUID: pod.UID, runtime.LabelContainerName: c.Name}
	id, err := e.d.CreateContainer(context.Background(), sb, &runtime.ContainerConfig{Spec: c, ImageRef: e.imageID, Attempt: attempt, Labels: labels})
	if err != nil {
		e.t.Fatalf("CreateContainer %s: %v", c.Name, err)
	}
	if err := e.d.StartContainer(context.Background(), id); err != nil {
		e.t.Fatalf("StartContainer %s: %v", c.Name, err)
	}
	return id
}

// logs GETs /containerLogs with query.
func (e *agentAPIEnv) logs(pod, container, query string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/containerLogs/default/%s/%s?%s", e.ts.URL, pod, container, query), nil)
	req.Header.Set("Authorization", "Bearer "+agentAPIToken)
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// exec runs cmd through client-go's WebSocket or SPDY executor and
// returns stdout+stderr.
func (e *agentAPIEnv) exec(ws bool, pod, container string, tty bool, stdin string, cmd ...string) (string, error) {
	e.t.Helper()
	return agentAPIExec(e.t, e.cfg, ws, pod, container, tty, stdin, cmd...)
}

// agentAPIExec execs cmd in default/pod/container through the agent API
// at cfg.Host.
func agentAPIExec(t *testing.T, cfg *rest.Config, ws bool, pod, container string, tty bool, stdin string, cmd ...string) (string, error) {
	t.Helper()
	q := url.Values{"command": cmd, "stdout": {"true"}}
	if tty {
		q.Set("tty", "true")
	} else {
		q.Set("stderr", "true")
	}
	if stdin != "" {
		q.Set("stdin", "true")
	}
	u, _ := url.Parse(fmt.Sprintf("%s/exec/default/%s/%s?%s", cfg.Host, pod, container, q.Encode()))
	var ex remotecommand.Executor
	var err error
	if ws {
		ex, err = remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
	} else {
		ex, err = remotecommand.NewSPDYExecutor(cfg, "POST", u)
	}
	if err != nil {
		t.Fatal(err)
	}
	var out runtimeSyncBuffer
	opts := remotecommand.StreamOptions{Stdout: &out, Tty: tty}
	if !tty {
		opts.Stderr = &out
	}
	if stdin != "" {
		opts.Stdin = strings.NewReader(stdin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = ex.StreamWithContext(ctx, opts)
	return out.String(), err
}

func TestAgentAPILogsExecPortForward(t *testing.T) {
	e := agentAPINewEnv(t, agentAPIToken)
	sb, pod := e.pod("web")
	e.container(sb, pod, 0, v1.Container{Name: "srv", Command: []string{"sh", "-c",
		"mkdir /www && echo forwarded-page > /www/index.html && httpd -p 127.0.0.1:8080 -h /www && " +
			"i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"}})
	// "crash" ran once (exit 3) and runs again as attempt 1.
	first := e.container(sb, pod, 0, v1.Container{Name: "crash", Command: []string{"sh", "-c", "echo first-run; echo first-err >&2; exit 3"}})
	e.waitExited(first, 10*time.Second)
	e.container(sb, pod, 1, v1.Container{Name: "crash", Command: []string{"sh", "-c", "echo second-run; exec sleep 3600"}})
	// One reader per attach: conmon closes a container's stdin when an
	// attached client goes (the driver does not pass --leave-stdin-open).
	for _, name := range []string{"reader-ws", "reader-spdy"} {
		e.container(sb, pod, 0, v1.Container{Name: name, Stdin: true, Command: []string{"sh", "-c", "while read l; do echo got:$l; done"}})
	}
	short := e.container(sb, pod, 0, v1.Container{Name: "short", Command: []string{"sh", "-c", "for i in 1 2 3 4 5; do echo line $i; sleep 0.5; done; printf no-newline"}})

	t.Run("logs", func(t *testing.T) {
		// follow: the stream ends once the container has exited, with every line.
		start := time.Now()
		code, body := e.logs("web", "short", "follow=true")
		if code != 200 || body != "line 1\nline 2\nline 3\nline 4\nline 5\nno-newline" {
			t.Errorf("follow: %d %q", code, body)
		}
		if d := time.Since(start); d < 500*time.Millisecond {
			t.Errorf("follow returned after %v, before the container ended", d)
		}
		e.waitExited(short, 10*time.Second)
		if code, body := e.logs("web", "short", "tailLines=2"); code != 200 || body != "line 5\nno-newline" {
			t.Errorf("tail: %d %q", code, body)
		}
		if code, body := e.logs("web", "short", "limitBytes=9"); code != 200 || body != "line 1\nli" {
			t.Errorf("limitBytes: %d %q", code, body)
		}
		if code, body := e.logs("web", "short", "timestamps=true&tailLines=2"); code != 200 || !strings.Contains(body, "Z line 5\n") || !strings.HasSuffix(body, "Z no-newline") {
			t.Errorf("timestamps: %d %q", code, body)
		}
		if code, body := e.logs("web", "short", "sinceSeconds=3600"); code != 200 || !strings.HasPrefix(body, "line 1\n") {
			t.Errorf("sinceSeconds: %d %q", code, body)
		}
		// previous: from the exited instance, then from its log file alone.
		if code, body := e.logs("web", "crash", "previous=true"); code != 200 || body != "first-run\nfirst-err\n" {
			t.Errorf("previous: %d %q", code, body)
		}
		if code, body := e.logs("web", "crash", ""); code != 200 || body != "second-run\n" {
			t.Errorf("current: %d %q", code, body)
		}
		if err := e.d.RemoveContainer(context.Background(), first); err != nil {
			t.Fatal(err)
		}
		if code, body := e.logs("web", "crash", "previous=true"); code != 200 || body != "first-run\nfirst-err\n" {
			t.Errorf("previous after removal: %d %q", code, body)
		}
		if code, body := e.logs("web", "srv", "previous=true"); code != 400 || !strings.Contains(body, `previous terminated container \"srv\" in pod \"web\" not found`) {
			t.Errorf("no previous: %d %s", code, body)
		}
		// follow a running container: lines keep coming.
		req, _ := http.NewRequest("GET", e.ts.URL+"/containerLogs/default/web/srv?follow=true&tailLines=1", nil)
		req.Header.Set("Authorization", "Bearer "+agentAPIToken)
		resp, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(resp.Body)
		var got []string
		for len(got) < 5 {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("follow srv: %v after %q", err, got)
			}
			got = append(got, l)
		}
		resp.Body.Close()
		if !strings.HasPrefix(got[0], "tick ") || got[0] == got[4] {
			t.Errorf("follow srv: %q", got)
		}
	})

	t.Run("exec", func(t *testing.T) {
		for _, ws := range []bool{true, false} {
			name := map[bool]string{true: "websocket", false: "spdy"}[ws]
			out, err := e.exec(ws, "web", "srv", false, "", "ps")
			if err != nil || !strings.Contains(out, "httpd") {
				t.Errorf("%s ps: %v\n%s", name, err, out)
			}
			out, err = e.exec(ws, "web", "srv", true, "ps; exit\n", "sh")
			if err != nil || !strings.Contains(out, "httpd") {
				t.Errorf("%s ps with tty: %v\n%s", name, err, out)
			}
			out, err = e.exec(ws, "web", "srv", true, "", "tty")
			if err != nil || !strings.Contains(out, "/dev/pts/") {
				t.Errorf("%s tty: %v %q", name, err, out)
			}
			out, err = e.exec(ws, "web", "srv", false, "abc\n", "sh", "-c", "tr a-z A-Z; echo oops >&2; exit 5")
			var ce utilexec.CodeExitError
			// stdout and stderr are separate streams: either may come first.
			if !errors.As(err, &ce) || ce.Code != 5 || (out != "ABC\noops\n" && out != "oops\nABC\n") {
				t.Errorf("%s exit code: %v (%T) %q", name, err, err, out)
			}
			_, err = e.exec(ws, "web", "short", false, "", "true")
			if err == nil {
				t.Errorf("%s exec in an exited container: no error", name)
			}
		}
	})

	t.Run("exec latency", func(t *testing.T) {
		for _, ws := range []bool{true, false} {
			var ds []time.Duration
			for i := 0; i < 10; i++ {
				start := time.Now()
				if out, err := e.exec(ws, "web", "srv", false, "", "echo", "x"); err != nil || out != "x\n" {
					t.Fatalf("exec echo: %v %q", err, out)
				}
				ds = append(ds, time.Since(start))
			}
			slices.Sort(ds)
			t.Logf("exec echo (websocket %v): p50 %v, max %v", ws, ds[len(ds)/2], ds[len(ds)-1])
			if ds[len(ds)/2] > 2*time.Second {
				t.Errorf("exec p50 %v", ds[len(ds)/2])
			}
		}
	})

	t.Run("exec client gone", func(t *testing.T) {
		// kubectl exec -it killed mid-session: the agent ends the command.
		u, _ := url.Parse(e.ts.URL + "/exec/default/web/srv?command=sleep&command=321&stdin=true&stdout=true&tty=true")
		ex, err := remotecommand.NewWebSocketExecutor(e.cfg, "GET", u.String())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		defer pw.Close()
		done := make(chan error, 1)
		go func() {
			done <- ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: pr, Stdout: io.Discard, Tty: true})
		}()
		sleeping := func() bool {
			out, err := e.exec(false, "web", "srv", false, "", "ps", "-o", "args")
			if err != nil || !strings.Contains(out, "httpd") {
				t.Fatalf("ps: %v\n%s", err, out)
			}
			return strings.Contains(out, "sleep 321")
		}
		deadline := time.Now().Add(10 * time.Second)
		for !sleeping() && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if !sleeping() {
			t.Fatal("exec'd sleep never ran")
		}
		cancel()
		<-done
		deadline = time.Now().Add(15 * time.Second)
		for sleeping() && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		if sleeping() {
			t.Error("the exec'd process outlived its client")
		}
	})

	t.Run("attach", func(t *testing.T) {
		for _, ws := range []bool{true, false} {
			reader := map[bool]string{true: "reader-ws", false: "reader-spdy"}[ws]
			u, _ := url.Parse(e.ts.URL + "/attach/default/web/" + reader + "?stdin=true&stdout=true&stderr=true")
			var ex remotecommand.Executor
			var err error
			if ws {
				ex, err = remotecommand.NewWebSocketExecutor(e.cfg, "GET", u.String())
			} else {
				ex, err = remotecommand.NewSPDYExecutor(e.cfg, "POST", u)
			}
			if err != nil {
				t.Fatal(err)
			}
			word := fmt.Sprintf("hello-%v", ws)
			pr, pw := io.Pipe()
			var out runtimeSyncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: pr, Stdout: &out, Stderr: &out})
			}()
			io.WriteString(pw, word+"\n")
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(out.String(), "got:"+word) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if !strings.Contains(out.String(), "got:"+word) {
				t.Errorf("attach (websocket %v): output %q", ws, out.String())
			}
			cancel()
			pw.Close()
			<-done
		}
	})

	t.Run("portforward", func(t *testing.T) {
		tr, upgrader, err := spdy.RoundTripperFor(e.cfg)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(e.ts.URL + "/portForward/default/web")
		dialer := spdy.NewDialer(upgrader, &http.Client{Transport: tr}, "POST", u)
		stop, ready := make(chan struct{}), make(chan struct{})
		pf, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:8080"}, stop, ready, io.Discard, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() { errc <- pf.ForwardPorts() }()
		var once sync.Once
		stopAll := func() { once.Do(func() { close(stop); <-errc }) }
		defer stopAll()
		select {
		case <-ready:
		case err := <-errc:
			t.Fatal(err)
		}
		ports, _ := pf.GetPorts()
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
		for i := 0; i < 3; i++ {
			resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/index.html", ports[0].Local))
			if err != nil {
				t.Fatalf("GET %d: %v", i, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "forwarded-page\n" {
				t.Errorf("GET %d: %q", i, b)
			}
		}
		stopAll()
		// The listener is gone with the forward.
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", ports[0].Local), time.Second); err == nil {
			c.Close()
			t.Errorf("forwarded port still listening")
		}
	})

	t.Run("auth", func(t *testing.T) {
		resp, err := e.ts.Client().Get(e.ts.URL + "/containerLogs/default/web/srv")
		if err != nil || resp.StatusCode != 401 {
			t.Errorf("no token: %v %v", resp.StatusCode, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
	})
}

const agentAPIStaticPod = `apiVersion: v1
kind: Pod
metadata: {name: api}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: web
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'mkdir /www && echo from-agent > /www/index.html && httpd -p 127.0.0.1:8080 -h /www && echo web-started && exec sleep 3600']
  - name: flaky
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'echo "run $(cat /proc/sys/kernel/random/uuid)"; exit 1']
`

// TestAgentAPIStaticAgent drives the API of a real `peapod agent` (static
// pods, plain HTTP on 127.0.0.1): logs of a container the agent restarted
// (current and previous), exec through both protocols, port-forward.
func TestAgentAPIStaticAgent(t *testing.T) {
	a := agentNewEnv(t)
	a.write("api.yaml", agentAPIStaticPod)
	a.waitPod("api-node1", "flaky restarted, web running", 60*time.Second, func(p *v1.Pod) bool {
		web, flaky := agentContainer(p, "web"), agentContainer(p, "flaky")
		return web != nil && web.State.Running != nil && flaky != nil && flaky.RestartCount >= 1
	})
	cfg := &rest.Config{Host: fmt.Sprintf("http://127.0.0.1:%d", a.port)}
	get := func(path string) (int, string) {
		resp, err := http.Get(cfg.Host + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// A container's log, once it has written something (web, and the
	// restarted flaky, may not have yet).
	written := func(path string) (body string) {
		eventually(t, 10*time.Second, path+" written", func() (bool, string) {
			_, body = get(path)
			return body != "", ""
		})
		return body
	}
	if body := written("/containerLogs/default/api-node1/web"); body != "web-started\n" {
		t.Errorf("web logs: %q", body)
	}
	cur := written("/containerLogs/default/api-node1/flaky")
	code, prev := get("/containerLogs/default/api-node1/flaky?previous=true")
	if code != 200 || !strings.HasPrefix(prev, "run ") || !strings.HasPrefix(cur, "run ") || prev == cur {
		t.Errorf("flaky: previous %d %q, current %q", code, prev, cur)
	}
	if code, body := get("/containerLogs/default/api-node1/web?previous=true"); code != 400 || !strings.Contains(body, "previous terminated container") {
		t.Errorf("web previous: %d %s", code, body)
	}
	if code, body := get("/pods"); code != 200 || !strings.Contains(body, "api-node1") {
		t.Errorf("/pods: %d", code)
	}

	for _, ws := range []bool{true, false} {
		out, err := agentAPIExec(t, cfg, ws, "api-node1", "web", true, "ps; exit\n", "sh")
		if err != nil || !strings.Contains(out, "httpd") {
			t.Errorf("exec -it ps (websocket %v): %v\n%s", ws, err, out)
		}
		_, err = agentAPIExec(t, cfg, ws, "api-node1", "web", false, "", "sh", "-c", "exit 42")
		var ce utilexec.CodeExitError
		if !errors.As(err, &ce) || ce.Code != 42 {
			t.Errorf("exit 42 (websocket %v): %v", ws, err)
		}
	}

	tr, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(cfg.Host + "/portForward/default/api-node1")
	stop, ready := make(chan struct{}), make(chan struct{})
	pf, err := portforward.NewOnAddresses(spdy.NewDialer(upgrader, &http.Client{Transport: tr}, "POST", u), []string{"127.0.0.1"}, []string{"0:8080"}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- pf.ForwardPorts() }()
	defer func() { close(stop); <-errc }()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatal(err)
	}
	ports, _ := pf.GetPorts()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/index.html", ports[0].Local))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "from-agent\n" {
		t.Errorf("port-forward: %q", b)
	}
}

// TestAgentAPIKubectl runs kubectl logs, exec and port-forward through a
// real `peapod server` (its node proxy) to the agent API. The node is
// registered by hand and points at the API on a TLS test server over the
// real runc driver, which runs the pod's sandbox and container; the pod's
// Running status is written by hand, since no agent watches this node.
func TestAgentAPIKubectl(t *testing.T) {
	s := apiStart(t)
	nodeToken, err := os.ReadFile(filepath.Join(s.dataDir, "node-token"))
	if err != nil {
		t.Fatal(err)
	}
	e := agentAPINewEnv(t, strings.TrimSpace(string(nodeToken)))
	sb, pod := e.pod("kpod")
	e.container(sb, pod, 0, v1.Container{Name: "app", Command: []string{"sh", "-c",
		"mkdir /www && echo via-apiserver > /www/index.html && httpd -p 127.0.0.1:8080 -h /www && echo hello-kubectl && echo second-line && exec sleep 3600"}})

	ctx := context.Background()
	cs := s.clientset()
	agentPort, _ := strconv.Atoi(e.ts.URL[strings.LastIndex(e.ts.URL, ":")+1:])
	node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "agentapi-node"}}
	node, err = cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status.Addresses = []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(agentPort)
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kpod", Namespace: "default"},
		Spec: v1.PodSpec{NodeName: "agentapi-node", Containers: []v1.Container{{Name: "app", Image: "busybox"}}}}
	p, err = cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = v1.PodRunning
	p.Status.ContainerStatuses = []v1.ContainerStatus{{Name: "app", Image: "busybox", Ready: true, State: v1.ContainerState{Running: &v1.ContainerStateRunning{}}}}
	if _, err := cs.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		grace := int64(0)
		cs.CoreV1().Pods("default").Delete(context.Background(), "kpod", metav1.DeleteOptions{GracePeriodSeconds: &grace})
	})

	// The container writes its two lines right after starting.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, body := e.logs("kpod", "app", ""); strings.Contains(body, "second-line") {
			break
		}
	}
	if out := s.kubectl("logs", "kpod"); out != "hello-kubectl\nsecond-line\n" {
		t.Errorf("kubectl logs: %q", out)
	}
	if out := s.kubectl("logs", "kpod", "--tail=1", "--timestamps"); !strings.HasSuffix(out, "Z second-line\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("kubectl logs --tail=1 --timestamps: %q", out)
	}
	out, err := s.kubectlCmd(ctx, "logs", "kpod", "--previous").CombinedOutput()
	if err == nil || !strings.Contains(string(out), `previous terminated container "app" in pod "kpod" not found`) {
		t.Errorf("kubectl logs --previous: %v %s", err, out)
	}
	// kubectl logs -f ends when the stream does; here it is cut after the lines come.
	fctx, fcancel := context.WithTimeout(ctx, 30*time.Second)
	fcmd := s.kubectlCmd(fctx, "logs", "-f", "kpod")
	fpipe, err := fcmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := fcmd.Start(); err != nil {
		t.Fatal(err)
	}
	var fout []byte
	for buf := make([]byte, 4096); !bytes.HasSuffix(fout, []byte("second-line\n")); {
		n, err := fpipe.Read(buf)
		fout = append(fout, buf[:n]...)
		if err != nil {
			break
		}
	}
	fcancel()
	fcmd.Wait()
	if string(fout) != "hello-kubectl\nsecond-line\n" {
		t.Errorf("kubectl logs -f: %q", fout)
	}

	// exec without a TTY: output and exit code pass through (WebSocket, then SPDY).
	for _, env := range []string{"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true", "KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false"} {
		cmd := s.kubectlCmd(ctx, "exec", "kpod", "--", "sh", "-c", "ps; exit 3")
		cmd.Env = append(cmd.Env, env)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(string(out), "httpd") {
			t.Errorf("kubectl exec (%s): %v\n%s", env, err, out)
		}
	}
	// exec -it under a pseudo-terminal (script(1)).
	cmd := exec.Command("script", "-qec", fmt.Sprintf("/usr/bin/kubectl --cache-dir %s exec -it kpod -- sh -c 'tty; ps'", s.cacheDir), "/dev/null")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.kubeconfig)
	cmd.Stdin = strings.NewReader("")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "/dev/pts/") || !strings.Contains(string(out), "httpd") {
		t.Errorf("kubectl exec -it: %v\n%s", err, out)
	}

	// port-forward to the busybox httpd.
	b, err := kubectlPortForwardGet(ctx, s, "kpod", "8080", "/index.html")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "via-apiserver\n" {
		t.Errorf("port-forward: %q", b)
	}
}
