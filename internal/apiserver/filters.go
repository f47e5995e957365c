package apiserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path"
	"runtime/debug"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/peapod/peapod/internal/auth"
)

// publicPaths are served without credentials, as kube-apiserver's default
// RBAC grants them to system:unauthenticated.
var publicPaths = map[string]bool{"/healthz": true, "/livez": true, "/readyz": true, "/version": true}

// withRecovery turns a handler panic into a 500 Status; the server keeps running.
func (s *Server) withRecovery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.cfg.Log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				s.writeError(w, r, apierrors.NewInternalError(fmt.Errorf("panic: %v", p)), schema.GroupResource{}, "")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// withAuth authenticates the request (401 on failure), applies
// impersonation (impersonation.go) and authorizes the resulting user (403).
func (s *Server) withAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u auth.User
		if s.cfg.Authenticator == nil {
			u = auth.User{Name: auth.AdminUser, Groups: []string{auth.GroupMasters}}
		} else {
			var err error
			if u, err = s.cfg.Authenticator.AuthenticateRequest(r); err != nil {
				if publicPaths[r.URL.Path] {
					next.ServeHTTP(w, r)
					return
				}
				s.writeStatus(w, r, &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusUnauthorized,
					Reason: metav1.StatusReasonUnauthorized, Message: "Unauthorized"})
				return
			}
		}
		// Impersonate-* headers: checked for the authenticated user, then
		// the impersonated user is the one authorized and served.
		u, err := s.impersonate(r.Context(), r, u)
		if err != nil {
			s.writeError(w, r, err, schema.GroupResource{}, "")
			return
		}
		if s.cfg.Authenticator == nil { // tests: no authorization either
			next.ServeHTTP(w, r.WithContext(auth.WithUser(r.Context(), u)))
			return
		}
		info := parseRequestInfo(r)
		req := auth.Request{Verb: info.Verb, APIGroup: info.GV.Group, Resource: info.Resource, Subresource: info.Subresource,
			Namespace: info.Namespace, Name: info.Name, Path: r.URL.Path, FieldSelector: r.URL.Query().Get("fieldSelector")}
		if !info.IsResource {
			req.Resource = ""
		}
		if s.cfg.Authorizer != nil && !s.cfg.Authorizer.Authorize(r.Context(), u, req) {
			msg := fmt.Sprintf("User %q cannot %s path %q", u.Name, info.Verb, r.URL.Path)
			gr := schema.GroupResource{Group: info.GV.Group, Resource: info.Resource}
			if info.IsResource {
				// as kube's forbiddenMessage: the subresource is named with
				// its resource (pods/ephemeralcontainers)
				resource := info.Resource
				if info.Subresource != "" {
					resource += "/" + info.Subresource
				}
				msg = fmt.Sprintf("User %q cannot %s resource %q in API group %q", u.Name, info.Verb, resource, info.GV.Group)
				if info.Namespace != "" {
					msg += fmt.Sprintf(" in the namespace %q", info.Namespace)
				} else {
					msg += " at the cluster scope"
				}
			}
			s.writeError(w, r, apierrors.NewForbidden(gr, info.Name, errors.New(msg)), gr, info.Name)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithUser(r.Context(), u)))
	})
}

// recorder remembers the status code while passing Flush and Hijack
// through (watch streams and upgrades need them).
type recorder struct {
	http.ResponseWriter
	code int
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("response writer cannot hijack")
	}
	if r.code == 0 {
		r.code = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// longRunning reports whether a request may stay open (watches, logs,
// exec, attach, port-forward); such requests get no timeout and do not
// count against the in-flight limit.
func longRunning(r *http.Request) bool {
	if isTrue(r.URL.Query().Get("watch")) || strings.Contains(r.URL.Path, "/watch/") || strings.HasPrefix(r.URL.Path, "/debug/pprof") {
		return true
	}
	switch path.Base(r.URL.Path) {
	case "log", "exec", "attach", "portforward":
		return true
	}
	return false
}

// maxRequestTimeout caps ?timeout= for ordinary requests, as
// kube-apiserver's --request-timeout (60s).
const maxRequestTimeout = 60 * time.Second

// withLimits bounds ordinary requests: at most MaxInFlight at once (429
// with Retry-After beyond that, which client-go retries) and a deadline of
// ?timeout= or 60 s.
func (s *Server) withLimits(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if longRunning(r) {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case s.inflight <- struct{}{}:
			defer func() { <-s.inflight }()
		default:
			w.Header().Set("Retry-After", "1")
			s.writeStatus(w, r, &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusTooManyRequests,
				Reason: metav1.StatusReasonTooManyRequests, Message: "too many requests, please try again later",
				Details: &metav1.StatusDetails{RetryAfterSeconds: 1}})
			return
		}
		timeout := maxRequestTimeout
		if v := r.URL.Query().Get("timeout"); v != "" {
			if d, err := time.ParseDuration(v); err == nil && d > 0 && d < timeout {
				timeout = d
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
