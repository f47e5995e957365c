package prober

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/peapod/peapod/internal/runtime"
	"github.com/peapod/peapod/internal/runtime/oci"
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
// be run at all (an error: discarded by the thresholds); err is then the
// cause, nil otherwise. Warning is a success worth an event.
func Run(ctx context.Context, ex Execer, p *v1.Probe, c *v1.Container, id string, t Target) (Result, string, error) {
	return run(ctx, ex, p, c, id, t, nil)
}

// run is Run with an HTTP probe's request kept in rc (nil: none kept).
func run(ctx context.Context, ex Execer, p *v1.Probe, c *v1.Container, id string, t Target, rc *RequestCache) (Result, string, error) {
	timeout := Timeout(p)
	switch h := p.ProbeHandler; {
	case h.Exec != nil:
		return runExec(ctx, ex, id, expandCommand(h.Exec.Command, c), timeout)
	case h.HTTPGet != nil:
		return unknownErr(httpGet(ctx, rc, h.HTTPGet, c, t, timeout))
	case h.TCPSocket != nil:
		port, err := ResolvePort(h.TCPSocket.Port, c)
		if err != nil {
			return Unknown, err.Error(), err
		}
		host := h.TCPSocket.Host
		if host == "" {
			host = t.PodIP
		}
		return unknownErr(TCP(ctx, t, host, port, timeout))
	case h.GRPC != nil:
		svc := ""
		if h.GRPC.Service != nil {
			svc = *h.GRPC.Service
		}
		return unknownErr(GRPC(ctx, t, t.PodIP, int(h.GRPC.Port), svc, timeout))
	}
	return Unknown, "missing probe handler", errors.New("missing probe handler")
}

// unknownErr adds the error of an Unknown result, whose output is the
// error text.
func unknownErr(r Result, out string) (Result, string, error) {
	if r == Unknown {
		return r, out, errors.New(out)
	}
	return r, out, nil
}

// expandCommand is the kubelet's ExpandContainerCommandOnlyStatic
// (kubelet/container/helpers.go, called by prober.go runProbe): $(VAR)
// in an exec probe's command is the value of the container's env entry
// VAR as written in the spec. Values are not expanded themselves, a
// valueFrom entry is "" (its Value), the last entry of a name wins; an
// unknown name stays as written and $$ is a $ (oci.Expand).
func expandCommand(cmd []string, c *v1.Container) []string {
	if c == nil || !slices.ContainsFunc(cmd, func(s string) bool { return strings.Contains(s, "$") }) {
		return cmd // nothing to expand: no map to build for every probe
	}
	vars := make(map[string]string, len(c.Env))
	for _, e := range c.Env {
		vars[e.Name] = e.Value
	}
	return oci.ExpandAll(cmd, vars)
}

// maxExecOutput is how much of an exec probe's output is kept (kubelet
// pkg/probe/exec maxReadLength: a LimitWriter over stdout then stderr).
const maxExecOutput = 10 << 10

// Exec runs cmd in the container; exit 0 is success.
func Exec(ctx context.Context, ex Execer, id string, cmd []string, timeout time.Duration) (Result, string) {
	r, out, _ := runExec(ctx, ex, id, cmd, timeout)
	return r, out
}

// runExec is Exec with the error of an Unknown result.
func runExec(ctx context.Context, ex Execer, id string, cmd []string, timeout time.Duration) (Result, string, error) {
	res, err := ex.ExecSync(ctx, id, cmd, timeout)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return Failure, fmt.Sprintf("command %q timed out", strings.Join(cmd, " ")), nil
	}
	if err != nil {
		return Unknown, err.Error(), err
	}
	out := execOutput(res.Stdout, res.Stderr)
	if res.ExitCode != 0 {
		return Failure, out, nil
	}
	return Success, out, nil
}

// execOutput is what the kubelet keeps of an exec probe's output for the
// result and event: its RunInContainer appends stderr to stdout and the
// exec prober's LimitWriter keeps the first maxExecOutput bytes.
func execOutput(stdout, stderr []byte) string {
	stdout = stdout[:min(len(stdout), maxExecOutput)]
	stderr = stderr[:min(len(stderr), maxExecOutput-len(stdout))]
	return string(stdout) + string(stderr)
}

// ResolvePort is a port number or the number of the container port with
// that name, as the 1.33 kubelet's probe.ResolveContainerPort
// (pkg/probe/util.go, also used by HTTP lifecycle hooks) resolves it: a
// name the container does not declare is parsed as a number as a last
// resort, and the parse error is the message, e.g.
// `strconv.Atoi: parsing "metrics": invalid syntax`.
func ResolvePort(p intstr.IntOrString, c *v1.Container) (int, error) {
	port := int(p.IntVal)
	if p.Type != intstr.Int {
		n, ok := portByName(c, p.StrVal)
		if !ok {
			var err error
			if n, err = strconv.Atoi(p.StrVal); err != nil {
				return 0, err
			}
		}
		port = n
	}
	if port <= 0 || port > 65535 {
		return 0, fmt.Errorf("invalid port number: %d", port)
	}
	return port, nil
}

// portByName is the number of c's port called name.
func portByName(c *v1.Container, name string) (int, bool) {
	if c == nil {
		return 0, false
	}
	for _, cp := range c.Ports {
		if cp.Name == name {
			return int(cp.ContainerPort), true
		}
	}
	return 0, false
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
		return Failure, fmt.Sprintf("error: failed to connect service at %q: %+v", addr, err)
	}
	defer conn.Close()
	// The kubelet dials with WithBlock: a refused or unreachable port is
	// retried until the connection is ready or the timeout is out.
	if err := waitReady(ctx, conn); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return Failure, fmt.Sprintf("timeout: failed to connect service %q within %v: %+v", addr, timeout, err)
		}
		return Failure, fmt.Sprintf("error: failed to connect service at %q: %+v", addr, err)
	}
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		st, ok := status.FromError(err)
		switch {
		case ok && st.Code() == codes.Unimplemented:
			return Failure, fmt.Sprintf("error: this server does not implement the grpc health protocol (grpc.health.v1.Health): %s", st.Message())
		case ok && st.Code() == codes.DeadlineExceeded:
			return Failure, fmt.Sprintf("timeout: health rpc did not complete within %v", timeout)
		}
		return Failure, fmt.Sprintf("error: health rpc probe failed: %+v", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return Failure, fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus().String())
	}
	return Success, ""
}

// waitReady connects conn and waits until it is ready, as grpc.DialContext
// with WithBlock: transient failures (connection refused) are retried with
// gRPC's back-off; only ctx ends the wait, with its error.
func waitReady(ctx context.Context, conn *grpc.ClientConn) error {
	conn.Connect()
	for {
		s := conn.GetState()
		if s == connectivity.Ready {
			return nil
		}
		if !conn.WaitForStateChange(ctx, s) {
			return ctx.Err()
		}
	}
}
