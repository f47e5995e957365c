package hooks

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/peapod/peapod/internal/agent/prober"
	"github.com/peapod/peapod/internal/runtime"
)

func TestRemaining(t *testing.T) {
	for _, tc := range []struct{ grace, elapsed, want time.Duration }{
		{30 * time.Second, 5*time.Second + 900*time.Millisecond, 25 * time.Second},
		{30 * time.Second, 0, 30 * time.Second},
		{10 * time.Second, 9 * time.Second, 1 * time.Second},
		// Nothing left: the caller floors the stop signal's timeout.
		{10 * time.Second, 10 * time.Second, 0},
	} {
		if got := Remaining(tc.grace, tc.elapsed); got != tc.want {
			t.Errorf("Remaining(%v, %v) = %v, want %v", tc.grace, tc.elapsed, got, tc.want)
		}
	}
}

type exitExec int

func (e exitExec) ExecSync(context.Context, string, []string, time.Duration) (*runtime.ExecResult, error) {
	return &runtime.ExecResult{ExitCode: int(e), Stdout: []byte("boom"), Stderr: []byte("bang")}, nil
}

type rec struct{ msgs []string }

func (r *rec) Event(_ *v1.Pod, fp, typ, reason, msg string) {
	r.msgs = append(r.msgs, typ+" "+reason+" "+msg)
}

func TestPreStop(t *testing.T) {
	ctx := context.Background()
	pod := &v1.Pod{}
	clock := time.Unix(0, 0)
	slept := time.Duration(0)
	ev := &rec{}
	r := &Runner{Exec: exitExec(1), Events: ev, Now: func() time.Time { return clock },
		Sleep: func(_ context.Context, d time.Duration) error { slept = d; clock = clock.Add(d); return nil }}
	sleep := &v1.Container{Name: "c", Lifecycle: &v1.Lifecycle{PreStop: &v1.LifecycleHandler{Sleep: &v1.SleepAction{Seconds: 5}}}}
	if got := r.PreStop(ctx, pod, sleep, "id", prober.Target{}, 30*time.Second); got != 25*time.Second || slept != 5*time.Second {
		t.Fatalf("sleep 5 of 30: %v (slept %v)", got, slept)
	}
	failing := &v1.Container{Name: "c", Lifecycle: &v1.Lifecycle{PreStop: &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"x"}}}}}
	if got := r.PreStop(ctx, pod, failing, "id", prober.Target{}, 30*time.Second); got != 30*time.Second {
		t.Fatalf("failing exec: %v", got)
	}
	// The event has no output (it may hold secrets), as the kubelet's.
	if len(ev.msgs) != 1 || ev.msgs[0] != "Warning FailedPreStopHook PreStopHook failed" {
		t.Fatalf("events %q", ev.msgs)
	}
	if got := r.PreStop(ctx, pod, &v1.Container{Name: "c"}, "id", prober.Target{}, 7*time.Second); got != 7*time.Second {
		t.Fatalf("no hook: %v", got)
	}
	// A hook longer than the grace is cut at the grace (real timer).
	r2 := &Runner{Exec: exitExec(0)}
	start := time.Now()
	if got := r2.PreStop(ctx, pod, &v1.Container{Name: "c", Lifecycle: &v1.Lifecycle{PreStop: &v1.LifecycleHandler{Sleep: &v1.SleepAction{Seconds: 60}}}},
		"id", prober.Target{}, 1*time.Second); got != 0 || time.Since(start) > 3*time.Second {
		t.Fatalf("cut at grace: %v after %v", got, time.Since(start))
	}
}

func TestPostStartHTTPAnyStatusSucceeds(t *testing.T) {
	var ua string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua = r.UserAgent()
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	h, p, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	port, _ := strconv.Atoi(p)
	c := &v1.Container{Name: "c", Lifecycle: &v1.Lifecycle{PostStart: &v1.LifecycleHandler{HTTPGet: &v1.HTTPGetAction{Port: intstr.FromInt32(int32(port))}}}}
	r := &Runner{Exec: exitExec(0)}
	if err := r.PostStart(context.Background(), nil, c, "id", prober.Target{PodIP: h}); err != nil || ua != UserAgent {
		t.Fatalf("500 is success for hooks: %v (ua %q)", err, ua)
	}
	srv.Close()
	if err := r.PostStart(context.Background(), nil, c, "id", prober.Target{PodIP: h}); err == nil || !strings.Contains(err.Error(), "connection refused") ||
		!strings.HasPrefix(err.Error(), `HTTP lifecycle hook () for Container "c" in Pod "<nil>" failed - error: `) {
		t.Fatalf("transport error: %v", err)
	}
	bad := &v1.Container{Name: "c", Lifecycle: &v1.Lifecycle{PostStart: &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"x", "y"}}}}}
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1"}}
	err := (&Runner{Exec: exitExec(2)}).PostStart(context.Background(), pod, bad, "id", prober.Target{})
	// The kubelet's handlerRunner.Run message: the CRI error has stderr,
	// the message stdout then stderr.
	want := `Exec lifecycle hook ([x y]) for Container "c" in Pod "p_ns(u1)" failed - error: command 'x y' exited with 2: bang, message: "boombang"`
	if err == nil || err.Error() != want {
		t.Fatalf("failing exec postStart: %v\nwant %s", err, want)
	}
	sleepy := &v1.Container{Name: "c", Lifecycle: &v1.Lifecycle{PostStart: &v1.LifecycleHandler{Sleep: &v1.SleepAction{Seconds: 3}}}}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	want = `Sleep lifecycle hook (3) for Container "c" in Pod "p_ns(u1)" failed - error: container terminated before sleep hook finished`
	if err := (&Runner{}).PostStart(cancelled, pod, sleepy, "id", prober.Target{}); err == nil || err.Error() != want {
		t.Fatalf("cancelled sleep postStart: %v\nwant %s", err, want)
	}
}

func TestHTTPSHookFallsBackToHTTP(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path+" auth="+r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	h, p, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	port, _ := strconv.Atoi(p)
	get := &v1.HTTPGetAction{Scheme: v1.URISchemeHTTPS, Path: "/hook", Port: intstr.FromInt32(int32(port)),
		HTTPHeaders: []v1.HTTPHeader{{Name: "Authorization", Value: "Bearer x"}}}
	c := &v1.Container{Name: "c", Lifecycle: &v1.Lifecycle{PostStart: &v1.LifecycleHandler{HTTPGet: get}}}
	ev := &rec{}
	r := &Runner{Exec: exitExec(0), Events: ev}
	if err := r.PostStart(context.Background(), &v1.Pod{}, c, "id", prober.Target{PodIP: h}); err != nil {
		t.Fatalf("HTTPS hook on an HTTP server: %v", err)
	}
	if len(paths) != 1 || paths[0] != "/hook auth=" {
		t.Errorf("requests over HTTP: %q (the retry drops Authorization)", paths)
	}
	want := "Warning LifecycleHTTPFallback request to HTTPS lifecycle hook " + net.JoinHostPort(h, p) + " got HTTP response, retry with HTTP succeeded"
	if len(ev.msgs) != 1 || ev.msgs[0] != want {
		t.Errorf("events %q, want %q", ev.msgs, want)
	}

	// A real HTTPS server: no fallback, no event.
	tls := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer tls.Close()
	h, p, _ = net.SplitHostPort(strings.TrimPrefix(tls.URL, "https://"))
	port, _ = strconv.Atoi(p)
	get.Port = intstr.FromInt32(int32(port))
	ev.msgs = nil
	if err := r.PostStart(context.Background(), &v1.Pod{}, c, "id", prober.Target{PodIP: h}); err != nil || len(ev.msgs) != 0 {
		t.Errorf("HTTPS server: %v, events %q", err, ev.msgs)
	}
	// Nothing listening: the HTTPS error stands (no retry can help).
	tls.Close()
	if err := r.PostStart(context.Background(), &v1.Pod{}, c, "id", prober.Target{PodIP: h}); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("closed port: %v", err)
	}
}
