// Package server is the node agent's API: the kubelet's streaming
// endpoints that the API server proxies kubectl's pods/log, pods/exec,
// pods/attach and pods/portforward to.
//
//	GET  /healthz                                   (open)
//	GET  /containerLogs/<ns>/<pod>/<container>?follow=&previous=&tailLines=&sinceSeconds=&sinceTime=&timestamps=&limitBytes=
//	GET|POST /exec/<ns>/<pod>/<container>?command=..&stdin=&stdout=&stderr=&tty=
//	GET|POST /attach/<ns>/<pod>/<container>?stdin=&stdout=&stderr=&tty=
//	GET|POST /portForward/<ns>/<pod>
//
// Exec and attach speak WebSocket v5.channel.k8s.io and, as fallback,
// SPDY (and WebSocket v1-v4) through the kubelet's published streaming
// packages; port-forward speaks SPDY and answers the WebSocket tunnelling
// attempt with 400 so that kubectl falls back to SPDY.
package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/peapod/peapod/internal/runtime"
)

// Sentinel errors of a PodLookup.
var (
	// ErrPodNotFound: no pod of that namespace and name runs on this node.
	ErrPodNotFound = errors.New("pod not found")
	// ErrContainerNotFound: the pod has no instance of that container (it
	// has not been created yet, or the name is wrong).
	ErrContainerNotFound = errors.New("container not found")
	// ErrNoPrevious: the container has no terminated previous instance.
	ErrNoPrevious = errors.New("previous terminated container not found")
)

// ContainerRef is one instance (attempt) of a pod's container.
type ContainerRef struct {
	// ID is the runtime container ID; empty when only the instance's log
	// file is left (the container itself was removed).
	ID string
	// LogPath is the instance's CRI-format log file,
	// <data-dir>/pods/<ns>_<name>_<uid>/<container>/<attempt>.log.
	LogPath string
	Attempt uint32
}

// PodLookup finds the runtime objects of the pods this node runs.
// NewRuntimeLookup implements it from the runtime's labels alone; the
// agent may supply its own.
type PodLookup interface {
	// LookupContainer returns the current instance of the container of
	// pod ns/name (previous=false: the most recent attempt, running or
	// not) or the one before it (previous=true). Errors wrap
	// ErrPodNotFound, ErrContainerNotFound or ErrNoPrevious.
	LookupContainer(ctx context.Context, ns, pod, container string, previous bool) (ContainerRef, error)
	// LookupSandbox returns the ID of the pod's current sandbox, or an
	// error wrapping ErrPodNotFound.
	LookupSandbox(ctx context.Context, ns, pod string) (sandboxID string, err error)
}

// Streamer is the part of runtime.Service the API needs.
type Streamer interface {
	ContainerStatus(ctx context.Context, containerID string) (*runtime.ContainerStatus, error)
	Exec(ctx context.Context, containerID string, cmd []string, s runtime.Streams) (exitCode int, err error)
	Attach(ctx context.Context, containerID string, s runtime.Streams) error
	PortForward(ctx context.Context, sandboxID string, port int32, stream io.ReadWriteCloser) error
}

var _ Streamer = runtime.Service(nil)

// Config wires the API.
type Config struct {
	Pods    PodLookup
	Runtime Streamer
	// Authenticate reports whether a bearer token is accepted. Nil turns
	// authentication off: only for an endpoint bound to 127.0.0.1.
	Authenticate func(token string) bool
	// Fallback serves every other path (e.g. the agent's /pods), after
	// authentication. Nil: 404.
	Fallback http.Handler
	// Now is the clock (sinceSeconds); nil means time.Now.
	Now func() time.Time
	// FollowPoll is how often a followed log is checked for new lines;
	// zero means 100 ms.
	FollowPoll time.Duration
	// StreamIdleTimeout closes exec, attach and port-forward connections
	// idle that long; zero means 4 hours (the kubelet's default).
	StreamIdleTimeout time.Duration
	// Logf logs stream errors; nil discards them.
	Logf func(format string, args ...any)
}

type server struct {
	cfg Config
}

// New returns the agent API handler.
func New(cfg Config) http.Handler {
	return newServer(cfg).handler()
}

func newServer(cfg Config) *server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FollowPoll <= 0 {
		cfg.FollowPoll = 100 * time.Millisecond
	}
	if cfg.StreamIdleTimeout <= 0 {
		cfg.StreamIdleTimeout = 4 * time.Hour
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &server{cfg: cfg}
}

func (s *server) handler() http.Handler {
	cfg := s.cfg
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok")
	})
	authed := http.NewServeMux()
	authed.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", s.serveLogs)
	authed.HandleFunc("/exec/{ns}/{pod}/{container}", s.serveExec)
	authed.HandleFunc("/attach/{ns}/{pod}/{container}", s.serveAttach)
	authed.HandleFunc("/portForward/{ns}/{pod}", s.servePortForward)
	if cfg.Fallback != nil {
		authed.Handle("/", cfg.Fallback)
	}
	mux.Handle("/", s.authenticate(authed))
	return mux
}

// authenticate requires "Authorization: Bearer <token>" accepted by
// cfg.Authenticate.
func (s *server) authenticate(next http.Handler) http.Handler {
	if s.cfg.Authenticate == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok || !s.cfg.Authenticate(token) {
			writeStatus(w, unauthorized())
			return
		}
		next.ServeHTTP(w, r)
	})
}

// StaticToken returns an Authenticate func that accepts exactly token
// (the node token the API server sends), compared in constant time. An
// empty token accepts nothing.
func StaticToken(token string) func(string) bool {
	want := []byte(token)
	return func(got string) bool {
		return len(want) > 0 && subtle.ConstantTimeCompare([]byte(got), want) == 1
	}
}

func bearerToken(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
