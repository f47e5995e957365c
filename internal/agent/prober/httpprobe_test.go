package prober

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// kubeletHTTPGet is the reference: the kubelet's probe client (a
// DisableKeepAlives, DisableCompression transport, Client.Timeout, its
// redirect checker) with the same judgement. The lean path must give
// the same result and message.
func kubeletHTTPGet(ctx context.Context, g *v1.HTTPGetAction, t Target, timeout time.Duration) (Result, string) {
	req, err := HTTPRequest(ctx, g, nil, t.PodIP, UserAgent)
	if err != nil {
		return Unknown, err.Error()
	}
	client := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:        t.DialContext,
			DisableKeepAlives:  true,
			DisableCompression: true,
			TLSClientConfig:    &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // test
		},
		CheckRedirect: probeRedirect,
	}
	return doHTTPProbe(client, req)
}

// probeServer answers the paths the cases use; seen records each
// request's headers (plus X-Host, X-Proto).
type probeServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func newProbeServer(t *testing.T) *probeServer {
	s := &probeServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		h.Set("X-Host", r.Host)
		h.Set("X-Proto", r.Proto)
		s.mu.Lock()
		s.seen = append(s.seen, h)
		s.mu.Unlock()
		p := r.URL.Path
		switch {
		case p == "/ok":
			w.Write([]byte("fine"))
		case p == "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case p == "/away": // same port, another host name
			http.Redirect(w, r, "http://localhost"+strings.TrimPrefix(s.URL, "http://127.0.0.1")+"/ok", http.StatusFound)
		case p == "/abs": // absolute, same host name
			http.Redirect(w, r, s.URL+"/ok", http.StatusMovedPermanently)
		case strings.HasPrefix(p, "/loop/"):
			n, _ := strconv.Atoi(strings.TrimPrefix(p, "/loop/"))
			http.Redirect(w, r, fmt.Sprintf("/loop/%d", n+1), http.StatusTemporaryRedirect)
		case p == "/nolocation":
			w.WriteHeader(http.StatusFound)
			w.Write([]byte("where?"))
		case p == "/notmodified":
			w.WriteHeader(http.StatusNotModified)
		case p == "/badlocation":
			w.Header().Set("Location", "http://[::1")
			w.WriteHeader(http.StatusFound)
		case p == "/big":
			w.Write([]byte(strings.Repeat("x", 20*1024)))
		case p == "/chunked":
			for i := 0; i < 3; i++ {
				w.Write([]byte("part "))
				w.(http.Flusher).Flush()
			}
		case p == "/hang":
			<-r.Context().Done()
		case p == "/slowbody":
			w.Header().Set("Content-Length", "100")
			w.Write([]byte("start"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		case p == "/nocontent":
			w.WriteHeader(http.StatusNoContent)
		default:
			http.Error(w, "nope", http.StatusNotFound)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *probeServer) port(t *testing.T) int {
	_, p := hostPort(t, s.URL)
	return p
}

func (s *probeServer) headers() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.seen
	s.seen = nil
	return h
}

// rawServer accepts connections and hands each to serve.
func rawServer(t *testing.T, serve func(net.Conn)) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				serve(c)
			}()
		}
	}()
	_, p := hostPort(t, ln.Addr().String())
	return p
}

// localPort is the client's ephemeral port in a net.OpError message
// ("read tcp 127.0.0.1:41032->127.0.0.1:39173"): it differs between
// two connections, so comparisons leave it out.
var localPort = regexp.MustCompile(`tcp 127\.0\.0\.1:[0-9]+->`)

func withoutLocalPort(msg string) string {
	return localPort.ReplaceAllString(msg, "tcp 127.0.0.1:*->")
}

// closedEarly: the message of a connection the server closed before
// answering.
func closedEarly(msg string) bool {
	return strings.HasSuffix(msg, ": EOF") || strings.HasSuffix(msg, "connection reset by peer") ||
		strings.HasSuffix(msg, "server closed idle connection")
}

// boundNotListening returns a port that refuses connections for the
// whole test: a socket bound to it and never listening holds it, so no
// other listener can be given it (a closed listener's port can).
func boundNotListening(t *testing.T) int {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*syscall.SockaddrInet4).Port
}

// readRequest reads a request head from c.
func readRequest(c net.Conn) *bufio.Reader {
	br := bufio.NewReader(c)
	http.ReadRequest(br)
	return br
}

func TestHTTPGetMatchesKubelet(t *testing.T) {
	srv := newProbeServer(t)
	port := srv.port(t)
	tgt := Target{PodIP: "127.0.0.1"}
	ctx := context.Background()

	closed := boundNotListening(t)
	raw := map[string]int{
		"close at once":    rawServer(t, func(c net.Conn) {}),
		"close after read": rawServer(t, func(c net.Conn) { readRequest(c) }),
		"garbage":          rawServer(t, func(c net.Conn) { readRequest(c); c.Write([]byte("HELLO there\r\n\r\n")) }),
		"partial head":     rawServer(t, func(c net.Conn) { readRequest(c); c.Write([]byte("HTTP/1.1 200 OK\r\nContent-")) }),
		"short body": rawServer(t, func(c net.Conn) {
			readRequest(c)
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
		}),
		"100 continue": rawServer(t, func(c net.Conn) {
			readRequest(c)
			c.Write([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"))
		}),
		"eof body": rawServer(t, func(c net.Conn) {
			readRequest(c)
			c.Write([]byte("HTTP/1.0 200 OK\r\n\r\nuntil close"))
		}),
		"closed port": closed,
	}

	type want struct {
		res Result
		out string // "" : only the same as the kubelet's
	}
	cases := []struct {
		name    string
		g       v1.HTTPGetAction
		timeout time.Duration
		want    want
	}{
		{"200", v1.HTTPGetAction{Path: "/ok"}, time.Second, want{Success, "fine"}},
		{"404", v1.HTTPGetAction{Path: "/missing"}, time.Second, want{Failure, "HTTP probe failed with statuscode: 404"}},
		{"204", v1.HTTPGetAction{Path: "/nocontent"}, time.Second, want{Success, ""}},
		{"redirect same host followed", v1.HTTPGetAction{Path: "/redirect"}, time.Second, want{Success, "fine"}},
		{"absolute redirect same host followed", v1.HTTPGetAction{Path: "/abs"}, time.Second, want{Success, "fine"}},
		{"redirect to another host not followed", v1.HTTPGetAction{Path: "/away"}, time.Second,
			want{Warning, "Probe terminated redirects, Response body: <a href=\"http://localhost:" + strconv.Itoa(port) + "/ok\">Found</a>.\n\n"}},
		{"more than 10 redirects", v1.HTTPGetAction{Path: "/loop/0"}, time.Second, want{Failure, `Get "/loop/10": stopped after 10 redirects`}},
		{"302 without Location", v1.HTTPGetAction{Path: "/nolocation"}, time.Second, want{Warning, "Probe terminated redirects, Response body: where?"}},
		{"304", v1.HTTPGetAction{Path: "/notmodified"}, time.Second, want{Warning, "Probe terminated redirects, Response body: "}},
		{"bad Location", v1.HTTPGetAction{Path: "/badlocation"}, time.Second, want{Failure, ""}},
		{"body capped at 10 KiB", v1.HTTPGetAction{Path: "/big"}, time.Second, want{Success, strings.Repeat("x", 10*1024)}},
		{"chunked", v1.HTTPGetAction{Path: "/chunked"}, time.Second, want{Success, "part part part "}},
		{"server never answers", v1.HTTPGetAction{Path: "/hang"}, 200 * time.Millisecond,
			want{Failure, `Get "http://127.0.0.1:` + strconv.Itoa(port) + `/hang": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`}},
		{"body never ends", v1.HTTPGetAction{Path: "/slowbody"}, 200 * time.Millisecond,
			want{Unknown, "context deadline exceeded (Client.Timeout or context cancellation while reading body)"}},
	}
	for name, p := range raw {
		w := want{}
		if name == "closed port" {
			w = want{Failure, `Get "http://127.0.0.1:` + strconv.Itoa(p) + `/": dial tcp 127.0.0.1:` + strconv.Itoa(p) + `: connect: connection refused`}
		}
		cases = append(cases, struct {
			name    string
			g       v1.HTTPGetAction
			timeout time.Duration
			want    want
		}{name, v1.HTTPGetAction{Port: intstr.FromInt32(int32(p))}, time.Second, w})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.g
			if g.Port.IntVal == 0 {
				g.Port = intstr.FromInt32(int32(port))
			}
			srv.headers()
			kr, kout := kubeletHTTPGet(ctx, &g, tgt, tc.timeout)
			kseen := srv.headers()
			start := time.Now()
			r, out := HTTPGet(ctx, &g, nil, tgt, tc.timeout)
			took := time.Since(start)
			seen := srv.headers()
			// A server closing at once: EOF or a reset, whichever the
			// kernel reports first (the same race in both, each run on
			// its own).
			racy := tc.name == "close at once" && closedEarly(out) && closedEarly(kout)
			if (r != kr || withoutLocalPort(out) != withoutLocalPort(kout)) && !racy {
				t.Errorf("lean %v %q\nkubelet %v %q", r, out, kr, kout)
			}
			if tc.want.out != "" && (r != tc.want.res || out != tc.want.out) {
				t.Errorf("got %v %q, want %v %q", r, out, tc.want.res, tc.want.out)
			}
			if tc.want.out == "" && tc.want.res != Unknown && r != tc.want.res {
				t.Errorf("got %v %q, want %v", r, out, tc.want.res)
			}
			if took > tc.timeout+300*time.Millisecond {
				t.Errorf("took %v, timeout %v", took, tc.timeout)
			}
			if fmt.Sprint(seen) != fmt.Sprint(kseen) {
				t.Errorf("server saw\nlean    %v\nkubelet %v", seen, kseen)
			}
			// A worker's runs, through its request cache: the second
			// sends the bytes kept from the first. The same results.
			var rc RequestCache
			for i := 0; i < 2; i++ {
				cr, cout := httpGet(ctx, &rc, &g, nil, tgt, tc.timeout)
				cseen := srv.headers()
				racy := tc.name == "close at once" && closedEarly(out) && closedEarly(cout)
				if (cr != r || withoutLocalPort(cout) != withoutLocalPort(out)) && !racy {
					t.Errorf("run %d through the cache: %v %q, uncached %v %q", i, cr, cout, r, out)
				}
				if fmt.Sprint(cseen) != fmt.Sprint(seen) {
					t.Errorf("run %d through the cache: server saw\n%v\nuncached %v", i, cseen, seen)
				}
			}
		})
	}
}

func TestRequestCache(t *testing.T) {
	c := &v1.Container{Name: "c", Ports: []v1.ContainerPort{{Name: "http", ContainerPort: 8080}}}
	g := &v1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http"),
		HTTPHeaders: []v1.HTTPHeader{{Name: "X-Probe", Value: "1"}}}
	var rc RequestCache
	req, wire, err := rc.request(g, c, "10.0.0.5")
	if err != nil {
		t.Fatal(err)
	}
	if req.URL.String() != "http://10.0.0.5:8080/healthz" {
		t.Errorf("URL %s", req.URL)
	}
	want := "GET /healthz HTTP/1.1\r\nHost: 10.0.0.5:8080\r\nUser-Agent: kube-probe/1.33\r\nConnection: close\r\nAccept: */*\r\nX-Probe: 1\r\n\r\n"
	if string(wire) != want {
		t.Errorf("wire %q\nwant %q", wire, want)
	}
	if req2, _, _ := rc.request(g, c, "10.0.0.5"); req2 != req {
		t.Error("the same inputs built a new request")
	}
	if req3, _, _ := rc.request(g, c, "10.0.0.6"); req3 == req || req3.URL.Host != "10.0.0.6:8080" {
		t.Errorf("a new pod IP kept %s", req3.URL)
	}
	g2 := *g
	g2.Path = "/other"
	if req4, _, _ := rc.request(&g2, c, "10.0.0.6"); req4.URL.Path != "/other" {
		t.Errorf("a new action kept %s", req4.URL)
	}
	badName := &v1.HTTPGetAction{Port: intstr.FromInt32(80), HTTPHeaders: []v1.HTTPHeader{{Name: "X Y", Value: "1"}}}
	if req, wire, err := rc.request(badName, c, "10.0.0.6"); err != nil || wire != nil || req == nil {
		t.Errorf("a header name the transport refuses is left to it: %v %q %v", req, wire, err)
	}
	bad := &v1.HTTPGetAction{Port: intstr.FromString("nope")}
	for i := 0; i < 2; i++ {
		if _, _, err := rc.request(bad, c, "10.0.0.6"); err == nil || err.Error() != `strconv.Atoi: parsing "nope": invalid syntax` {
			t.Errorf("bad port: %v", err)
		}
	}
	tls := &v1.HTTPGetAction{Scheme: v1.URISchemeHTTPS, Port: intstr.FromInt32(443)}
	if req, wire, err := rc.request(tls, c, "10.0.0.6"); err != nil || wire != nil || req.URL.Scheme != "https" {
		t.Errorf("https: %v %q %v", req, wire, err)
	}
}

func TestHTTPGetHeadersAndHost(t *testing.T) {
	srv := newProbeServer(t)
	port := srv.port(t)
	ctx := context.Background()
	g := &v1.HTTPGetAction{Path: "/redirect", Port: intstr.FromString("http"),
		HTTPHeaders: []v1.HTTPHeader{{Name: "X-Custom", Value: "1"}, {Name: "Host", Value: "example.com"}, {Name: "Accept", Value: "text/plain"}}}
	c := &v1.Container{Name: "web", Ports: []v1.ContainerPort{{Name: "http", ContainerPort: int32(port)}}}
	if r, out := HTTPGet(ctx, g, c, Target{PodIP: "127.0.0.1"}, time.Second); r != Success || out != "fine" {
		t.Fatalf("%v %q", r, out)
	}
	seen := srv.headers()
	if len(seen) != 2 {
		t.Fatalf("requests: %v", seen)
	}
	for i, h := range seen {
		// The relative redirect keeps the Host override, as net/http's client.
		if h.Get("X-Custom") != "1" || h.Get("X-Host") != "example.com" || h.Get("Accept") != "text/plain" ||
			h.Get("User-Agent") != "kube-probe/1.33" || h.Get("Connection") != "close" || h.Get("Accept-Encoding") != "" || h.Get("X-Proto") != "HTTP/1.1" {
			t.Errorf("request %d headers: %v", i, h)
		}
	}
	if seen[1].Get("Referer") != "http://127.0.0.1:"+strconv.Itoa(port)+"/redirect" {
		t.Errorf("redirected request: %v", seen[1])
	}
}

func TestHTTPGetTimeoutAndCancel(t *testing.T) {
	// A listener that never accepts: the connection is made (backlog), the
	// request written, no answer.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port := hostPort(t, ln.Addr().String())
	g := &v1.HTTPGetAction{Port: intstr.FromInt32(int32(port))}
	start := time.Now()
	r, out := HTTPGet(context.Background(), g, nil, Target{PodIP: "127.0.0.1"}, 300*time.Millisecond)
	if took := time.Since(start); r != Failure || !strings.HasSuffix(out, "context deadline exceeded (Client.Timeout exceeded while awaiting headers)") ||
		took < 300*time.Millisecond || took > time.Second {
		t.Fatalf("after %v: %v %q", took, r, out)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	r, out = HTTPGet(ctx, g, nil, Target{PodIP: "127.0.0.1"}, 10*time.Second)
	if took := time.Since(start); r != Failure || !strings.Contains(out, "context canceled") || took > 2*time.Second {
		t.Fatalf("cancelled after %v: %v %q", took, r, out)
	}
}

func TestHTTPGetRedirectToHTTPS(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("secure " + r.Header.Get("User-Agent")))
	}))
	defer tlsSrv.Close()
	plain := httptest.NewServer(http.RedirectHandler(tlsSrv.URL+"/", http.StatusFound))
	defer plain.Close()
	_, port := hostPort(t, plain.URL)
	r, out := HTTPGet(context.Background(), &v1.HTTPGetAction{Port: intstr.FromInt32(int32(port))}, nil, Target{PodIP: "127.0.0.1"}, time.Second)
	if r != Success || out != "secure kube-probe/1.33" {
		t.Fatalf("%v %q", r, out)
	}
	// HTTPS from the start: the full transport (HTTP/2 offered).
	_, tport := hostPort(t, tlsSrv.URL)
	r, out = HTTPGet(context.Background(), &v1.HTTPGetAction{Scheme: v1.URISchemeHTTPS, Port: intstr.FromInt32(int32(tport))}, nil, Target{PodIP: "127.0.0.1"}, time.Second)
	if r != Success || out != "secure kube-probe/1.33" {
		t.Fatalf("https: %v %q", r, out)
	}
}

// The benchmarks probe a server in another process (this test binary,
// re-run as TestHelperProbeServer) so that the CPU and allocations
// measured are the prober's alone.
//
//	go test ./internal/agent/prober -run '^$' -bench HTTPGet -benchmem
func TestHelperProbeServer(t *testing.T) {
	if os.Getenv("PEAPOD_PROBER_HELPER_SERVER") != "1" {
		t.Skip("helper process for the benchmarks")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(ln.Addr().String())
	go func() { // exits with its parent's pipe
		bufio.NewReader(os.Stdin).ReadString('\n')
		os.Exit(0)
	}()
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
}

func helperServer(b *testing.B) int {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProbeServer$")
	cmd.Env = append(os.Environ(), "PEAPOD_PROBER_HELPER_SERVER=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	_, p, _ := net.SplitHostPort(strings.TrimSpace(line))
	port, _ := strconv.Atoi(p)
	return port
}

func processCPU() time.Duration {
	var r syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

func benchHTTPGet(b *testing.B, pace time.Duration, probe func(context.Context, *v1.HTTPGetAction, Target, time.Duration) (Result, string)) {
	port := helperServer(b)
	g := &v1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(int32(port))}
	tgt := Target{PodIP: "127.0.0.1"}
	ctx, cancel := context.WithCancel(context.Background()) // as the workers'
	defer cancel()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		if r, out := probe(ctx, g, tgt, time.Second); r != Success {
			b.Fatalf("%v %q", r, out)
		}
		if pace > 0 {
			time.Sleep(pace)
		}
	}
	b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}

func oldHTTPGet(ctx context.Context, g *v1.HTTPGetAction, t Target, timeout time.Duration) (Result, string) {
	req, err := HTTPRequest(ctx, g, nil, t.PodIP, UserAgent)
	if err != nil {
		return Unknown, err.Error()
	}
	return doHTTPProbe(HTTPClient(t, timeout), req)
}

func leanHTTPGet(ctx context.Context, g *v1.HTTPGetAction, t Target, timeout time.Duration) (Result, string) {
	return HTTPGet(ctx, g, nil, t, timeout)
}

// BenchmarkHTTPGetOld is the path HTTPGet took before: an http.Client
// and http.Transport per probe. The Paced variants leave 2 ms between
// probes, so that the process goes idle in between as the agent does
// (probes a second apart): goroutine hand-offs then cost thread wake-ups.
func BenchmarkHTTPGetOld(b *testing.B)       { benchHTTPGet(b, 0, oldHTTPGet) }
func BenchmarkHTTPGetLean(b *testing.B)      { benchHTTPGet(b, 0, leanHTTPGet) }
func BenchmarkHTTPGetPacedOld(b *testing.B)  { benchHTTPGet(b, 2*time.Millisecond, oldHTTPGet) }
func BenchmarkHTTPGetPacedLean(b *testing.B) { benchHTTPGet(b, 2*time.Millisecond, leanHTTPGet) }

// BenchmarkHTTPGetPacedNone is the pacing's own cost, to subtract.
func BenchmarkHTTPGetPacedNone(b *testing.B) {
	benchHTTPGet(b, 2*time.Millisecond, func(context.Context, *v1.HTTPGetAction, Target, time.Duration) (Result, string) { return Success, "" })
}
