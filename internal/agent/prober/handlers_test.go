package prober

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/peapod/peapod/internal/runtime"
)

// fakeExec answers ExecSync from a table keyed by the command's first word.
type fakeExec struct{}

var _ Execer = fakeExec{}

func (fakeExec) ExecSync(ctx context.Context, _ string, cmd []string, timeout time.Duration) (*runtime.ExecResult, error) {
	switch cmd[0] {
	case "true":
		return &runtime.ExecResult{Stdout: []byte("ok")}, nil
	case "false":
		return &runtime.ExecResult{Stderr: []byte("cat: can't open '/tmp/healthy'"), ExitCode: 1}, nil
	case "hang":
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		<-ctx.Done()
		return &runtime.ExecResult{ExitCode: -1}, fmt.Errorf("exec %q: %w", cmd[0], ctx.Err())
	}
	return nil, fmt.Errorf("exec: %w", runtime.ErrNotFound)
}

func TestExec(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		cmd  []string
		want Result
		out  string
	}{
		{[]string{"true"}, Success, "ok"},
		{[]string{"false"}, Failure, "cat: can't open '/tmp/healthy'"},
		{[]string{"hang", "100"}, Failure, `command "hang 100" timed out`},
		{[]string{"gone"}, Unknown, "exec: not found"},
	} {
		got, out := Exec(ctx, fakeExec{}, "c1", tc.cmd, 10*time.Millisecond)
		if got != tc.want || !strings.Contains(out, tc.out) {
			t.Errorf("%v: %v %q, want %v %q", tc.cmd, got, out, tc.want, tc.out)
		}
	}
}

func hostPort(t *testing.T, u string) (string, int) {
	h, p, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

func TestHTTPGet(t *testing.T) {
	var seen http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		seen.Set("X-Host", r.Host)
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte("fine"))
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			http.Error(w, "nope", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	host, port := hostPort(t, srv.URL)
	c := &v1.Container{Name: "web", Ports: []v1.ContainerPort{{Name: "http", ContainerPort: int32(port)}}}
	tgt := Target{PodIP: host}
	ctx := context.Background()

	got, out := HTTPGet(ctx, &v1.HTTPGetAction{Path: "/ok", Port: intstr.FromString("http"),
		HTTPHeaders: []v1.HTTPHeader{{Name: "X-Custom", Value: "1"}, {Name: "Host", Value: "example.com"}}}, c, tgt, time.Second)
	if got != Success || out != "fine" {
		t.Fatalf("ok: %v %q", got, out)
	}
	if seen.Get("User-Agent") != "kube-probe/1.33" || seen.Get("Accept") != "*/*" || seen.Get("X-Custom") != "1" || seen.Get("X-Host") != "example.com" {
		t.Fatalf("headers: %v", seen)
	}
	if got, _ := HTTPGet(ctx, &v1.HTTPGetAction{Path: "/redirect", Port: intstr.FromInt32(int32(port))}, c, tgt, time.Second); got != Success {
		t.Fatalf("redirect: %v", got)
	}
	got, out = HTTPGet(ctx, &v1.HTTPGetAction{Path: "/missing", Port: intstr.FromInt32(int32(port))}, c, tgt, time.Second)
	if got != Failure || out != "HTTP probe failed with statuscode: 500" {
		t.Fatalf("500: %v %q", got, out)
	}
	if got, out := HTTPGet(ctx, &v1.HTTPGetAction{Port: intstr.FromString("nope")}, c, tgt, time.Second); got != Unknown || out != `strconv.Atoi: parsing "nope": invalid syntax` {
		t.Fatalf("unknown port name: %v %q", got, out)
	}

	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tls.Close()
	_, tport := hostPort(t, tls.URL)
	if got, out := HTTPGet(ctx, &v1.HTTPGetAction{Scheme: v1.URISchemeHTTPS, Port: intstr.FromInt32(int32(tport))}, c, tgt, time.Second); got != Success {
		t.Fatalf("https skips verification: %v %q", got, out)
	}
}

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port := hostPort(t, ln.Addr().String())
	ctx := context.Background()
	if got, out := TCP(ctx, Target{}, "127.0.0.1", port, time.Second); got != Success {
		t.Fatalf("listening: %v %q", got, out)
	}
	ln.Close()
	got, out := TCP(ctx, Target{}, "127.0.0.1", port, time.Second)
	if got != Failure || !strings.Contains(out, "connect: connection refused") || !strings.HasPrefix(out, "dial tcp 127.0.0.1:") {
		t.Fatalf("closed: %v %q", got, out)
	}
	if _, err := (Target{NetNS: "/nonexistent"}).DialContext(ctx, "tcp", "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "pod network namespace") {
		t.Fatalf("bad netns: %v", err)
	}
}

func TestResolvePort(t *testing.T) {
	c := &v1.Container{Name: "c", Ports: []v1.ContainerPort{{Name: "http", ContainerPort: 8080}}}
	for _, tc := range []struct {
		p    intstr.IntOrString
		want int
		err  bool
	}{
		{intstr.FromInt32(80), 80, false}, {intstr.FromString("http"), 8080, false},
		{intstr.FromString("81"), 81, false}, {intstr.FromString("grpc"), 0, true}, {intstr.FromInt32(0), 0, true},
	} {
		got, err := ResolvePort(tc.p, c)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("%v: %d %v", tc.p.String(), got, err)
		}
	}
}

func TestTargetPodIPAddr(t *testing.T) {
	tg := Target{PodIP: "10.77.1.5", NetNS: "/run/netns/x"}
	for addr, want := range map[string]bool{
		"10.77.1.5:8080": true,
		"127.0.0.1:8080": false,
		"10.77.1.6:80":   false,
		"web:80":         false,
		"10.77.1.5":      false, // no port: not an address the dialer gets
	} {
		if got := tg.podIPAddr(addr); got != want {
			t.Errorf("podIPAddr(%q) = %v, want %v", addr, got, want)
		}
	}
	if (Target{}).podIPAddr("10.77.1.5:80") {
		t.Error("no pod IP matched an address")
	}
}
