package prober

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
	v1 "k8s.io/api/core/v1"
)

const (
	// maxProbeBody is how much of a response body a probe reads (the
	// kubelet's maxRespBodyLength).
	maxProbeBody = 10 * 1024
	// maxProbeHeader bounds a response's header (net/http's default
	// MaxResponseHeaderBytes).
	maxProbeHeader = 10 << 20
	// maxRedirects is how many same-host redirects a probe follows.
	maxRedirects = 10
)

// HTTPGet probes an HTTP endpoint as the kubelet does (pkg/probe/http):
// 200 ≤ status < 400 is Success; redirects to the same host name are
// followed (at most 10), a redirect to another host is not and gives
// Warning; at most 10 KiB of the body is read; timeout bounds the whole
// probe, redirects and body included.
//
// Plain-HTTP probes take a lean path (oneShot): one dial through t, one
// deadline on the connection, the request written in one write and the
// response read on the caller's goroutine; no http.Transport, no
// connection pool, no read/write loop goroutines, no context timers. HTTPS probes use a one-shot http.Transport configured as the
// kubelet's.
func HTTPGet(ctx context.Context, g *v1.HTTPGetAction, c *v1.Container, t Target, timeout time.Duration) (Result, string) {
	return httpGet(ctx, nil, g, c, t, timeout)
}

// httpGet is HTTPGet with the request taken from rc (nil: built now).
func httpGet(ctx context.Context, rc *RequestCache, g *v1.HTTPGetAction, c *v1.Container, t Target, timeout time.Duration) (Result, string) {
	if rc == nil {
		rc = &RequestCache{}
	}
	tmpl, wire, err := rc.request(g, c, t.PodIP)
	if err != nil {
		return Unknown, err.Error()
	}
	req := tmpl.WithContext(ctx)
	return doHTTPProbe(probeClient(req, wire, t, timeout), req)
}

// RequestCache keeps an HTTP probe's request from one run to the next
// (a probe worker's, every period): built, checked and written out once
// for as long as the probe's action, the container and the pod IP are
// the same. The zero value is empty; not safe for concurrent use.
type RequestCache struct {
	g     *v1.HTTPGetAction
	c     *v1.Container
	podIP string

	req  *http.Request // with context.Background
	wire []byte        // req as oneShot sends it (nil for https)
	err  error
}

// request returns the probe's request and its bytes on the wire, made
// now if the inputs changed (a pod update brings new objects).
func (rc *RequestCache) request(g *v1.HTTPGetAction, c *v1.Container, podIP string) (*http.Request, []byte, error) {
	if rc.req != nil || rc.err != nil {
		if rc.g == g && rc.c == c && rc.podIP == podIP {
			return rc.req, rc.wire, rc.err
		}
	}
	*rc = RequestCache{g: g, c: c, podIP: podIP}
	rc.req, rc.err = HTTPRequest(context.Background(), g, c, podIP, UserAgent)
	if rc.err != nil {
		rc.req = nil
		return nil, nil, rc.err
	}
	if rc.req.URL.Scheme == "http" && validHeaderNames(rc.req) == nil {
		// A request that cannot be written is left to RoundTrip, which
		// fails it at the same point as net/http (after the dial).
		rc.wire, _ = wireRequest(rc.req)
	}
	return rc.req, rc.wire, nil
}

// validHeaderNames is net/http's transport's check of a request's header
// names, made before it dials.
func validHeaderNames(req *http.Request) error {
	for k := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("net/http: invalid header field name %q", k)
		}
	}
	return nil
}

// wireRequest is req as a DisableKeepAlives transport writes it: with
// "Connection: close".
func wireRequest(req *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	wreq := *req
	wreq.Close = true
	if err := wreq.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// probeClient is the client for one probe request: the kubelet's
// redirect rule and either the lean transport (http; wire is req
// written out) or a full one-shot transport (https).
func probeClient(req *http.Request, wire []byte, t Target, timeout time.Duration) *http.Client {
	if req.URL.Scheme == "https" {
		return &http.Client{Timeout: timeout, Transport: probeTLSTransport(t), CheckRedirect: probeRedirect}
	}
	// No Client.Timeout: the transport bounds every connection by the
	// deadline itself (Client.Timeout would add a timer and a goroutine
	// per request for a transport it does not know).
	return &http.Client{Transport: &oneShot{target: t, deadline: time.Now().Add(timeout), first: req.URL, wire: wire}, CheckRedirect: probeRedirect}
}

// doHTTPProbe sends req and judges the response as the kubelet's
// DoHTTPProbe: a transport error is Failure with its text, a body that
// cannot be read is an error (Unknown), 3xx left unfollowed is Warning.
func doHTTPProbe(client *http.Client, req *http.Request) (Result, string) {
	res, err := client.Do(req)
	if err != nil {
		return Failure, err.Error()
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxProbeBody))
	if err != nil {
		return Unknown, err.Error()
	}
	body := string(b)
	if res.StatusCode >= http.StatusOK && res.StatusCode < http.StatusBadRequest {
		if res.StatusCode >= http.StatusMultipleChoices {
			return Warning, "Probe terminated redirects, Response body: " + body
		}
		return Success, body
	}
	return Failure, fmt.Sprintf("HTTP probe failed with statuscode: %d", res.StatusCode)
}

// probeRedirect is the kubelet's RedirectChecker(followNonLocalRedirects
// false): a redirect to another host name ends the chain with the 3xx
// response; at most 10 redirects.
func probeRedirect(req *http.Request, via []*http.Request) error {
	if req.URL.Hostname() != via[0].URL.Hostname() {
		return http.ErrUseLastResponse
	}
	if len(via) >= maxRedirects {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

// probeTLSTransport is the kubelet's probe transport: no verification,
// no keep-alive, no proxy, no compression (no Accept-Encoding), HTTP/2
// offered (apimachinery's SetTransportDefaults).
func probeTLSTransport(t Target) *http.Transport {
	return &http.Transport{
		DialContext:         t.DialContext,
		DisableKeepAlives:   true,
		DisableCompression:  true,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as the kubelet
		Proxy:               nil,
	}
}

// oneShot is an http.RoundTripper that sends each request on a new
// connection it closes with the response body (what a DisableKeepAlives
// transport does), all on the caller's goroutine, and fails any I/O past
// deadline. A redirect to https (rare) gets TLS over the connection,
// without certificate checks, speaking HTTP/1.1 only.
type oneShot struct {
	target   Target
	deadline time.Time
	// wire is the request whose URL is first (not a redirect's) as
	// written out beforehand; nil: written for each request.
	first *url.URL
	wire  []byte
}

var _ http.RoundTripper = (*oneShot)(nil)

// probeTimeout is a timeout with http.Client's wording.
type probeTimeout struct{ msg string }

func (e *probeTimeout) Error() string   { return e.msg }
func (e *probeTimeout) Timeout() bool   { return true }
func (e *probeTimeout) Temporary() bool { return true }

const (
	awaitingHeaders = " (Client.Timeout exceeded while awaiting headers)"
	readingBody     = " (Client.Timeout or context cancellation while reading body)"
)

// RoundTrip sends req on a new connection and reads the response head;
// the body reads from the connection, which closes with it.
func (o *oneShot) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !time.Now().Before(o.deadline) {
		return nil, &probeTimeout{context.DeadlineExceeded.Error() + awaitingHeaders}
	}
	wire := o.wire
	if req.URL != o.first {
		wire = nil // a redirect's request
	}
	if wire == nil {
		if err := validHeaderNames(req); err != nil {
			return nil, err
		}
	}
	port := req.URL.Port()
	if port == "" {
		port = "80"
		if req.URL.Scheme == "https" {
			port = "443"
		}
	}
	conn, err := o.dial(ctx, net.JoinHostPort(req.URL.Hostname(), port))
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(o.deadline)
	// Cancelling ctx cuts the I/O in progress through the deadline: no
	// goroutine waits on it.
	stop := func() bool { return false }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	}
	fail := func(err error, phase string) (*http.Response, error) {
		stop()
		conn.Close()
		return nil, o.ioError(ctx, err, phase)
	}
	rw := conn
	if req.URL.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, ServerName: req.URL.Hostname()}) //nolint:gosec // as the kubelet
		if err := tc.Handshake(); err != nil {
			return fail(err, awaitingHeaders)
		}
		rw = tc
	}

	// The request, with "Connection: close" as a DisableKeepAlives
	// transport sends it, in one write.
	if wire == nil {
		var err error
		if wire, err = wireRequest(req); err != nil {
			stop()
			conn.Close()
			return nil, err
		}
	}
	if _, err := rw.Write(wire); err != nil {
		return fail(err, awaitingHeaders)
	}

	lim := &io.LimitedReader{R: rw, N: maxProbeHeader}
	br := probeReaders.Get().(*bufio.Reader)
	br.Reset(lim)
	fail = func(err error, phase string) (*http.Response, error) {
		stop()
		conn.Close()
		putProbeReader(br)
		return nil, o.ioError(ctx, err, phase)
	}
	var res *http.Response
	// As net/http's transport: a connection that fails before the first
	// byte of a response gives the read error as is (often "EOF"); a bad
	// response is a broken connection.
	if _, err := br.Peek(1); err != nil {
		return fail(err, awaitingHeaders)
	}
	for n1xx := 0; ; {
		if res, err = http.ReadResponse(br, req); err != nil {
			if lim.N <= 0 {
				err = fmt.Errorf("net/http: server response headers exceeded %d bytes; aborted", maxProbeHeader)
			}
			return fail(brokenConn(err), awaitingHeaders)
		}
		// 1xx informational responses are skipped (at most 5), as
		// net/http's transport does; 101 is final.
		if res.StatusCode < 100 || res.StatusCode > 199 || res.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		if n1xx++; n1xx > 5 {
			return fail(brokenConn(errors.New("net/http: too many 1xx informational responses")), awaitingHeaders)
		}
		lim.N = maxProbeHeader
	}
	lim.N = 1<<63 - 1
	res.Body = &oneShotBody{body: res.Body, conn: rw, br: br, stop: stop, o: o, ctx: ctx}
	return res, nil
}

// probeReaders are the response readers of plain-HTTP probes, back in
// the pool once the response's body is closed.
var probeReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 2048) }}

func putProbeReader(br *bufio.Reader) {
	br.Reset(nil)
	probeReaders.Put(br)
}

// dial connects through the target, bounded by the deadline. The dial's
// context has the deadline but cannot be cancelled: net then puts the
// deadline on the connecting socket and starts no goroutine to watch for
// a cancellation (cancelling the probe's ctx cuts a dial at the deadline
// at the latest; the I/O after it at once).
func (o *oneShot) dial(ctx context.Context, addr string) (net.Conn, error) {
	conn, err := o.target.DialContext(deadlineOnly{context.WithoutCancel(ctx), o.deadline}, "tcp", addr)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, &probeTimeout{err.Error() + awaitingHeaders}
		}
		return nil, err
	}
	return conn, nil
}

// deadlineOnly is a context with a deadline and no cancellation.
type deadlineOnly struct {
	context.Context
	deadline time.Time
}

func (d deadlineOnly) Deadline() (time.Time, bool) { return d.deadline, true }

// ioError words an error of the exchange as net/http's client and
// transport do: a deadline hit is the client's timeout, a connection
// closed before any response is the transport's.
func (o *oneShot) ioError(ctx context.Context, err error, phase string) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &probeTimeout{context.DeadlineExceeded.Error() + phase}
	}
	return err
}

// brokenConn is net/http's transport's wording for a response it could
// not read.
func brokenConn(err error) error {
	return fmt.Errorf("net/http: HTTP/1.x transport connection broken: %w", err)
}

// oneShotBody is a response body whose Close closes the connection.
type oneShotBody struct {
	body io.ReadCloser
	conn net.Conn
	br   *bufio.Reader // the body reads through it; pooled again by Close
	stop func() bool
	o    *oneShot
	ctx  context.Context
}

func (b *oneShotBody) Read(p []byte) (int, error) {
	if b.br == nil {
		return 0, http.ErrBodyReadAfterClose
	}
	n, err := b.body.Read(p)
	if err != nil && err != io.EOF {
		err = b.o.ioError(b.ctx, err, readingBody)
	}
	return n, err
}

func (b *oneShotBody) Close() error {
	if b.br == nil {
		return nil
	}
	b.stop()
	err := b.conn.Close()
	putProbeReader(b.br)
	b.br = nil
	return err
}
