package prober

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/peapod/peapod/internal/runtime"
)

// UserAgent is what HTTP probes send, as a 1.33 kubelet does.
const UserAgent = "kube-probe/1.33"

// Execer runs a command in a container (runtime.Service.ExecSync).
type Execer interface {
	ExecSync(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (*runtime.ExecResult, error)
}

// Run runs the probe's handler against container c (ID id) of the pod
// reached through t, and returns its result and output (the command
// output, HTTP message or dial error). Unknown means the probe could not
// be run at all (an error: discarded by the thresholds); Warning is a
// success worth an event.
func Run(ctx context.Context, ex Execer, p *v1.Probe, c *v1.Container, id string, t Target) (Result, string) {
	timeout := Timeout(p)
	switch h := p.ProbeHandler; {
	case h.Exec != nil:
		return Exec(ctx, ex, id, h.Exec.Command, timeout)
	case h.HTTPGet != nil:
		return HTTPGet(ctx, h.HTTPGet, c, t, timeout)
	case h.TCPSocket != nil:
		port, err := ResolvePort(h.TCPSocket.Port, c)
		if err != nil {
			return Unknown, err.Error()
		}
		host := h.TCPSocket.Host
		if host == "" {
			host = t.PodIP
		}
		return TCP(ctx, t, host, port, timeout)
	case h.GRPC != nil:
		svc := ""
		if h.GRPC.Service != nil {
			svc = *h.GRPC.Service
		}
		return GRPC(ctx, t, t.PodIP, int(h.GRPC.Port), svc, timeout)
	}
	return Unknown, "missing probe handler"
}

// Exec runs cmd in the container; exit 0 is success.
func Exec(ctx context.Context, ex Execer, id string, cmd []string, timeout time.Duration) (Result, string) {
	res, err := ex.ExecSync(ctx, id, cmd, timeout)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return Failure, fmt.Sprintf("command %q timed out", strings.Join(cmd, " "))
	}
	if err != nil {
		return Unknown, err.Error()
	}
	out := string(res.Stdout) + string(res.Stderr)
	if res.ExitCode != 0 {
		return Failure, out
	}
	return Success, out
}

// ResolvePort is a port number or the number of the container port with
// that name.
func ResolvePort(p intstr.IntOrString, c *v1.Container) (int, error) {
	if p.Type == intstr.Int {
		if p.IntVal <= 0 || p.IntVal > 65535 {
			return 0, fmt.Errorf("invalid port number: %d", p.IntVal)
		}
		return int(p.IntVal), nil
	}
	if c != nil {
		for _, cp := range c.Ports {
			if cp.Name == p.StrVal {
				return int(cp.ContainerPort), nil
			}
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil && n > 0 && n <= 65535 {
		return n, nil
	}
	return 0, fmt.Errorf("couldn't find port: %v in %v", p.StrVal, containerName(c))
}

func containerName(c *v1.Container) string {
	if c == nil {
		return ""
	}
	return c.Name
}

// HTTPRequest builds the probe's (or hook's) request: host defaults to
// the pod IP, path to "/", scheme to HTTP; headers as given, with
// userAgent and Accept */* unless supplied.
func HTTPRequest(ctx context.Context, g *v1.HTTPGetAction, c *v1.Container, podIP, userAgent string) (*http.Request, error) {
	port, err := ResolvePort(g.Port, c)
	if err != nil {
		return nil, err
	}
	host := g.Host
	if host == "" {
		host = podIP
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := g.Path
	if path == "" {
		path = "/"
	} else if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u, err := url.Parse(scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)) + path)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	for _, h := range g.HTTPHeaders {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header.Set("User-Agent", userAgent)
	}
	if _, ok := req.Header["Accept"]; !ok {
		req.Header.Set("Accept", "*/*")
	} else if req.Header.Get("Accept") == "" {
		req.Header.Del("Accept")
	}
	return req, nil
}

// HTTPClient (hooks) dials through t with the probes' full transport
// (probeTLSTransport): no certificate checks, no connection kept alive.
func HTTPClient(t Target, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout:   timeout,
		Transport: probeTLSTransport(t),
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			return nil
		},
	}
}

// TCP connects to host:port and closes the connection.
func TCP(ctx context.Context, t Target, host string, port int, timeout time.Duration) (Result, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := t.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return Failure, err.Error()
	}
	conn.Close()
	return Success, ""
}

// GRPC calls the standard health service; SERVING is success.
func GRPC(ctx context.Context, t Target, host string, port int, service string, timeout time.Duration) (Result, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) { return t.DialContext(ctx, "tcp", a) }),
		grpc.WithUserAgent(UserAgent))
	if err != nil {
		return Failure, fmt.Sprintf("failed to connect service %q: %v", addr, err)
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		st, ok := status.FromError(err)
		switch {
		case ok && st.Code() == codes.Unimplemented:
			return Failure, fmt.Sprintf("this server does not implement the grpc health protocol (grpc.health.v1.Health): %s", st.Message())
		case ok && st.Code() == codes.DeadlineExceeded:
			return Failure, fmt.Sprintf("timeout: health rpc did not complete within %v", timeout)
		case ok && st.Code() == codes.Unavailable:
			return Failure, fmt.Sprintf("failed to connect service %q within %v: %s", addr, timeout, st.Message())
		}
		return Failure, fmt.Sprintf("error: health rpc probe failed: %v", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return Failure, fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus().String())
	}
	return Success, ""
}
