package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	utilexec "k8s.io/client-go/util/exec"
)

const testToken = "node-token"

type testEnv struct {
	ts     *httptest.Server
	dir    string
	lookup *fakeLookup
	rt     *fakeStreamer
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	e := &testEnv{
		dir: t.TempDir(),
		lookup: &fakeLookup{
			refs:      map[string]ContainerRef{},
			sandboxes: map[string]string{"default/web": "sb-1"},
		},
		rt: &fakeStreamer{running: map[string]bool{}, forward: map[int32]string{8080: "hello"}},
	}
	srv := newServer(Config{
		Pods:         e.lookup,
		Runtime:      e.rt,
		Authenticate: StaticToken(testToken),
		Fallback: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/pods" {
				http.NotFound(w, r)
				return
			}
			io.WriteString(w, "pods")
		}),
		Now:        func() time.Time { return time.Date(2024, 1, 2, 3, 4, 10, 0, time.UTC) },
		FollowPoll: 5 * time.Millisecond,
	})
	e.ts = httptest.NewTLSServer(srv.handler())
	t.Cleanup(e.ts.Close)
	return e
}

// container registers a container with a log file holding lines.
func (e *testEnv) container(t *testing.T, name, id string, running bool, previous bool, log string) {
	t.Helper()
	path := filepath.Join(e.dir, id+".log")
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	key := "default/web/" + name
	if previous {
		key += "/previous"
	}
	e.lookup.refs[key] = ContainerRef{ID: id, LogPath: path}
	e.rt.setRunning(id, running)
}

func (e *testEnv) get(t *testing.T, path, token string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.ts.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func (e *testEnv) restConfig() *rest.Config {
	return &rest.Config{Host: e.ts.URL, BearerToken: testToken, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
}

func statusMessage(t *testing.T, body string) string {
	t.Helper()
	var st metav1.Status
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Kind != "Status" {
		t.Fatalf("not a Status: %q", body)
	}
	return st.Message
}

func TestAuthentication(t *testing.T) {
	e := newTestEnv(t)
	e.container(t, "c", "c1", true, false, "")
	if code, body, _ := e.get(t, "/healthz", ""); code != 200 || body != "ok" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	for _, tok := range []string{"", "wrong"} {
		for _, p := range []string{"/containerLogs/default/web/c", "/pods", "/exec/default/web/c?command=ls&stdout=1", "/portForward/default/web"} {
			if code, body, _ := e.get(t, p, tok); code != 401 || statusMessage(t, body) != "Unauthorized" {
				t.Errorf("%s with token %q: %d %q", p, tok, code, body)
			}
		}
	}
	if code, body, _ := e.get(t, "/pods", testToken); code != 200 || body != "pods" {
		t.Errorf("/pods through Fallback: %d %q", code, body)
	}
	// Basic auth is not a bearer token.
	req, _ := http.NewRequest("GET", e.ts.URL+"/pods", nil)
	req.SetBasicAuth("a", testToken)
	if resp, err := e.ts.Client().Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("basic auth: %v %v", resp.StatusCode, err)
	}
}

func TestStaticToken(t *testing.T) {
	if a := StaticToken("s3cret"); !a("s3cret") || a("s3cre") || a("") || a("s3cret ") {
		t.Error("StaticToken(s3cret)")
	}
	if StaticToken("")("") {
		t.Error("an empty token must accept nothing")
	}
}

func TestLogsEndpoint(t *testing.T) {
	e := newTestEnv(t)
	e.container(t, "c", "c2", false, false, testLog)
	e.container(t, "c", "c1", false, true, "2024-01-02T03:03:00.000000000Z stdout F from the previous one\n")
	e.container(t, "only", "o1", false, false, "2024-01-02T03:03:00.000000000Z stdout F x\n")
	for _, tc := range []struct {
		query, want string
		code        int
	}{
		{query: "", want: "one\nerr-line\ntwo\nthree\nfour\nunfinished", code: 200},
		{query: "?tailLines=1&timestamps=true", want: "2024-01-02T03:04:06.000000000Z unfinished", code: 200},
		{query: "?sinceSeconds=5", want: "four\nunfinished", code: 200}, // now is 03:04:10
		{query: "?limitBytes=3", want: "one", code: 200},
		{query: "?previous=true", want: "from the previous one\n", code: 200},
		// follow on an exited container ends once the file is drained.
		{query: "?follow=true&tailLines=2", want: "four\nunfinished", code: 200},
	} {
		code, body, h := e.get(t, "/containerLogs/default/web/c"+tc.query, testToken)
		if code != tc.code || body != tc.want || h.Get("Content-Type") != "text/plain" {
			t.Errorf("%s: %d %q (%s), want %d %q", tc.query, code, body, h.Get("Content-Type"), tc.code, tc.want)
		}
	}
	for _, tc := range []struct {
		path, msg string
		code      int
	}{
		{path: "/containerLogs/default/web/only?previous=true", msg: `previous terminated container "only" in pod "web" not found`, code: 400},
		{path: "/containerLogs/default/nope/c", msg: `pods "nope" not found`, code: 404},
		{path: "/containerLogs/default/web/missing", msg: `container "missing" in pod "web" is waiting to start: ContainerCreating`, code: 400},
		{path: "/containerLogs/default/web/c?tailLines=-2&sinceSeconds=x", msg: "tailLines: must be greater than or equal to 0\nsinceSeconds: \"x\" is not an integer", code: 400},
	} {
		code, body, _ := e.get(t, tc.path, testToken)
		if code != tc.code || statusMessage(t, body) != tc.msg {
			t.Errorf("%s: %d %q, want %d %q", tc.path, code, body, tc.code, tc.msg)
		}
	}
}

func TestLogsFollow(t *testing.T) {
	e := newTestEnv(t)
	e.container(t, "c", "c1", true, false, "2024-01-02T03:04:00.000000000Z stdout F first\n")
	path := e.lookup.refs["default/web/c"].LogPath
	req, _ := http.NewRequest("GET", e.ts.URL+"/containerLogs/default/web/c?follow=true", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	if l, err := r.ReadString('\n'); l != "first\n" {
		t.Fatalf("first line %q %v", l, err)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	// A line written in two pieces, then a partial line split across writes.
	io.WriteString(f, "2024-01-02T03:04:01.000000000Z stdout F sec")
	time.Sleep(20 * time.Millisecond)
	io.WriteString(f, "ond\n2024-01-02T03:04:02.000000000Z stdout P thi\n")
	time.Sleep(20 * time.Millisecond)
	io.WriteString(f, "2024-01-02T03:04:03.000000000Z stdout F rd\n")
	if l, err := r.ReadString('\n'); l != "second\n" {
		t.Fatalf("second line %q %v", l, err)
	}
	if l, err := r.ReadString('\n'); l != "third\n" {
		t.Fatalf("third line %q %v", l, err)
	}
	// The container writes its last line and exits: the stream ends after it.
	io.WriteString(f, "2024-01-02T03:04:04.000000000Z stdout F last\n")
	f.Close()
	e.rt.setRunning("c1", false)
	done := make(chan string)
	go func() { b, _ := io.ReadAll(r); done <- string(b) }()
	select {
	case rest := <-done:
		if rest != "last\n" {
			t.Errorf("after exit: %q", rest)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end after the container exited")
	}
}

func TestExecStatus(t *testing.T) {
	for _, tc := range []struct {
		code   int
		err    error
		status string
		reason metav1.StatusReason
		cause  string
	}{
		{code: 0, status: metav1.StatusSuccess},
		{code: 3, status: metav1.StatusFailure, reason: "NonZeroExitCode", cause: "3"},
		{code: 137, status: metav1.StatusFailure, reason: "NonZeroExitCode", cause: "137"},
		{code: -1, err: errors.New("boom"), status: metav1.StatusFailure, reason: metav1.StatusReasonInternalError},
	} {
		st := execStatus(tc.code, tc.err)
		if st.Status != tc.status || st.Reason != tc.reason {
			t.Errorf("%d %v: %+v", tc.code, tc.err, st)
		}
		if tc.cause != "" && (st.Details == nil || len(st.Details.Causes) != 1 || st.Details.Causes[0].Type != "ExitCode" || st.Details.Causes[0].Message != tc.cause) {
			t.Errorf("%d: causes %+v", tc.code, st.Details)
		}
	}
}

func TestStreamOptions(t *testing.T) {
	for _, tc := range []struct {
		query   string
		want    string
		wantErr bool
	}{
		{query: "stdin=true&stdout=true&stderr=true", want: "in out err"},
		{query: "stdin=true&stdout=true&stderr=true&tty=true", want: "in out tty"},
		{query: "input=1&output=1&error=1", want: "in out err"},
		{query: "tty=true", wantErr: true},
		{query: "stdout=false", wantErr: true},
	} {
		q, _ := url.ParseQuery(tc.query)
		o, err := streamOptions(q)
		if tc.wantErr {
			if err == nil {
				t.Errorf("%q: no error", tc.query)
			}
			continue
		}
		var got []string
		for _, f := range []struct {
			on   bool
			name string
		}{{o.Stdin, "in"}, {o.Stdout, "out"}, {o.Stderr, "err"}, {o.TTY, "tty"}} {
			if f.on {
				got = append(got, f.name)
			}
		}
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("%q: %v %v, want %s", tc.query, got, err, tc.want)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixedSize struct{ sent bool }

func (f *fixedSize) Next() *remotecommand.TerminalSize {
	if f.sent {
		select {} // no more resizes; the stream ends the executor
	}
	f.sent = true
	return &remotecommand.TerminalSize{Width: 120, Height: 40}
}

// TestExecClients drives exec and attach with client-go's WebSocket and
// SPDY executors, as kubectl does.
func TestExecClients(t *testing.T) {
	e := newTestEnv(t)
	e.container(t, "c", "c1", true, false, "")
	e.container(t, "stopped", "s1", false, false, "")
	cfg := e.restConfig()
	executors := map[string]func(u *url.URL) (remotecommand.Executor, error){
		"websocket": func(u *url.URL) (remotecommand.Executor, error) {
			return remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
		},
		"spdy": func(u *url.URL) (remotecommand.Executor, error) {
			return remotecommand.NewSPDYExecutor(cfg, "POST", u)
		},
	}
	for name, newExec := range executors {
		t.Run(name, func(t *testing.T) {
			run := func(path string, q url.Values, opts remotecommand.StreamOptions) error {
				u, _ := url.Parse(e.ts.URL + path)
				u.RawQuery = q.Encode()
				ex, err := newExec(u)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				return ex.StreamWithContext(ctx, opts)
			}
			// stdin, stdout, stderr, exit 0
			var out, errOut syncBuffer
			q := url.Values{"command": {"echo hi", "cat", "err oops"}, "stdin": {"true"}, "stdout": {"true"}, "stderr": {"true"}}
			err := run("/exec/default/web/c", q, remotecommand.StreamOptions{Stdin: strings.NewReader("from stdin\n"), Stdout: &out, Stderr: &errOut})
			if err != nil || out.String() != "hi\nfrom stdin\n" || errOut.String() != "oops\n" {
				t.Errorf("exec: %v %q %q", err, out.String(), errOut.String())
			}
			// the exit code passes through
			out = syncBuffer{}
			q = url.Values{"command": {"echo bye", "exit 7"}, "stdout": {"true"}}
			err = run("/exec/default/web/c", q, remotecommand.StreamOptions{Stdout: &out})
			var ce utilexec.CodeExitError
			if !errors.As(err, &ce) || ce.Code != 7 || out.String() != "bye\n" {
				t.Errorf("exit 7: %v (%T) %q", err, err, out.String())
			}
			// TTY with a resize
			out = syncBuffer{}
			q = url.Values{"command": {"tty"}, "stdin": {"true"}, "stdout": {"true"}, "tty": {"true"}}
			err = run("/exec/default/web/c", q, remotecommand.StreamOptions{Stdin: strings.NewReader(""), Stdout: &out, Tty: true, TerminalSizeQueue: &fixedSize{}})
			if err != nil || out.String() != "tty=true size=120x40\n" {
				t.Errorf("tty: %v %q", err, out.String())
			}
			// a runtime failure is an error, not an exit code
			err = run("/exec/default/web/c", url.Values{"command": {"fail no such file"}, "stdout": {"true"}}, remotecommand.StreamOptions{Stdout: io.Discard})
			if err == nil || !strings.Contains(err.Error(), "no such file") || errors.As(err, &ce) {
				t.Errorf("runtime failure: %v", err)
			}
			// attach
			out = syncBuffer{}
			err = run("/attach/default/web/c", url.Values{"stdin": {"true"}, "stdout": {"true"}}, remotecommand.StreamOptions{Stdin: strings.NewReader("typed\n"), Stdout: &out})
			if err != nil || out.String() != "attached to c1\ntyped\n" {
				t.Errorf("attach: %v %q", err, out.String())
			}
			// a stopped container is refused before the upgrade
			err = run("/exec/default/web/stopped", url.Values{"command": {"ls"}, "stdout": {"true"}}, remotecommand.StreamOptions{Stdout: io.Discard})
			if err == nil {
				t.Errorf("exec in a stopped container: no error")
			}
		})
	}
}

// TestExecClientGone: when a WebSocket client goes away, the command's
// context ends (the runtime kills the process).
func TestExecClientGone(t *testing.T) {
	e := newTestEnv(t)
	e.container(t, "c", "c1", true, false, "")
	e.rt.blockStarted, e.rt.blocked = make(chan struct{}), make(chan error, 1)
	u, _ := url.Parse(e.ts.URL + "/exec/default/web/c?command=block&stdin=true&stdout=true&tty=true")
	ex, err := remotecommand.NewWebSocketExecutor(e.restConfig(), "GET", u.String())
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
	select {
	case <-e.rt.blockStarted:
	case <-time.After(10 * time.Second):
		t.Fatal("the command did not start")
	}
	cancel()
	<-done
	select {
	case err := <-e.rt.blocked:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("exec ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the command was not ended after the client went away")
	}
}

func TestPortForward(t *testing.T) {
	e := newTestEnv(t)
	// The WebSocket tunnelling attempt gets 400.
	req, _ := http.NewRequest("GET", e.ts.URL+"/portForward/default/web", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-Websocket-Protocol", "SPDY/3.1+portforward.k8s.io")
	if resp, err := e.ts.Client().Do(req); err != nil || resp.StatusCode != 400 {
		t.Fatalf("websocket attempt: %v %v", resp, err)
	}
	// SPDY, as kubectl port-forward falls back to.
	cfg := e.restConfig()
	tr, upgrader, err := spdy.RoundTripperFor(cfg)
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
	defer func() {
		close(stop)
		<-errc
	}()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatal(err)
	}
	ports, _ := pf.GetPorts()
	for i := 0; i < 2; i++ { // two connections over one forward
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ports[0].Local))
		if err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		if line != "hello from sb-1:8080\n" {
			t.Errorf("connection %d: %q %v", i, line, err)
		}
	}
	// An unknown pod is refused before the upgrade.
	if code, body, _ := e.get(t, "/portForward/default/nope", testToken); code != 404 {
		t.Errorf("unknown pod: %d %s", code, body)
	}
}

func TestEnsureServingCert(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	now := time.Now()
	c1, err := EnsureServingCert(dir, []string{"node1", "10.0.0.5"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "agent.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi.Mode(), err)
	}
	// Reused while valid and covering the hosts.
	c2, err := EnsureServingCert(dir, []string{"node1", "10.0.0.5"}, now.Add(24*time.Hour))
	if err != nil || !bytes.Equal(c1.Certificate[0], c2.Certificate[0]) {
		t.Errorf("not reused: %v", err)
	}
	// Renewed when close to expiry, and when a host is missing.
	c3, _ := EnsureServingCert(dir, []string{"node1", "10.0.0.5"}, now.Add(certValidity-time.Hour))
	c4, _ := EnsureServingCert(dir, []string{"node2"}, now)
	if bytes.Equal(c1.Certificate[0], c3.Certificate[0]) || bytes.Equal(c3.Certificate[0], c4.Certificate[0]) {
		t.Error("not renewed")
	}
	// A TLS client verifying against it accepts the names.
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{c4}}
	srv.StartTLS()
	defer srv.Close()
	caPEM, _ := os.ReadFile(filepath.Join(dir, "agent.crt"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	// agent.crt now holds c4 (node2); 127.0.0.1 is always covered.
	if resp, err := client.Get(srv.URL); err != nil {
		t.Errorf("verifying client: %v", err)
	} else {
		resp.Body.Close()
	}
}
