// Package apiserver is peapod's HTTP edge: it serves the Kubernetes REST API
// (discovery, OpenAPI, every verb, watch, patch, tables, subresources) over
// any registry.Resource backed by a storage.Interface, running the
// admission chain on writes.
package apiserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"

	"github.com/peapod/peapod/internal/apiserver/admission"
	"github.com/peapod/peapod/internal/auth"
	"github.com/peapod/peapod/internal/registry"
	"github.com/peapod/peapod/internal/storage"
)

// Authenticator identifies the user of a request.
type Authenticator interface {
	AuthenticateRequest(r *http.Request) (auth.User, error)
}

// Authorizer decides whether a user may make a request.
type Authorizer interface {
	Authorize(ctx context.Context, u auth.User, req auth.Request) bool
}

// TokenSigner issues service account tokens (serviceaccounts/<name>/token).
type TokenSigner interface {
	Issue(c auth.SAClaims) (string, error)
}

// Config wires the server's dependencies.
type Config struct {
	Scheme        *runtime.Scheme
	Resources     []*registry.Resource
	Storage       storage.Interface
	Admission     *admission.Chain
	Authenticator Authenticator // nil: every request is admin (tests)
	Authorizer    Authorizer    // nil: allow all
	TokenSigner   TokenSigner   // nil: serviceaccounts/token answers 503
	// NodeTransport carries proxied requests (logs, exec, ...) to node agents.
	NodeTransport http.RoundTripper
	// NodeBearerToken authenticates the server to node agents; the
	// client's own Authorization header is never forwarded.
	NodeBearerToken string
	// Readyz reports readiness (e.g. etcd reachable); nil means ready.
	Readyz func(ctx context.Context) error
	// Registerer receives the server's Prometheus metrics; Gatherer serves /metrics.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	Log        *slog.Logger
	Now        func() time.Time
	// MaxRequestBytes limits request bodies (default 3 MiB).
	MaxRequestBytes int64
	// MaxInFlight bounds concurrent ordinary (not long-running) requests
	// (default 600, kube-apiserver's 400 + 200 mutating).
	MaxInFlight int
	// MinWatchTimeout is the base of a watch's lifetime when the client
	// asks for none; each watch lasts between it and twice it (default 30m).
	MinWatchTimeout time.Duration
}

// Server is the API HTTP handler.
type Server struct {
	cfg      Config
	codecs   serializer.CodecFactory
	dec      *decoder
	protobuf runtime.Encoder
	// protobufLists encodes lists item by item straight to the response
	// (the same bytes as protobuf, without the whole list in one buffer).
	protobufLists runtime.Encoder
	resources     map[schema.GroupVersion]map[string]*registry.Resource
	groups        []schema.GroupVersion // in discovery order
	managers      *fieldManagers
	metrics       *metrics
	nsCache       *namespaceCache
	inflight      chan struct{}
	handler       http.Handler
}

// DefaultMaxRequestBytes is the request body limit, as kube-apiserver's 3 MiB.
const DefaultMaxRequestBytes = 3 << 20

// New builds the server.
func New(cfg Config) (*Server, error) {
	if cfg.Scheme == nil || cfg.Storage == nil {
		return nil, errors.New("apiserver: Scheme and Storage are required")
	}
	if cfg.Admission == nil {
		cfg.Admission = &admission.Chain{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxRequestBytes == 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = 600
	}
	if cfg.MinWatchTimeout == 0 {
		cfg.MinWatchTimeout = 30 * time.Minute
	}
	if cfg.Registerer == nil {
		reg := prometheus.NewRegistry()
		cfg.Registerer, cfg.Gatherer = reg, reg
	}
	s := &Server{
		cfg:      cfg,
		codecs:   serializer.NewCodecFactory(cfg.Scheme),
		dec:      newDecoder(cfg.Scheme, cfg.MaxRequestBytes),
		protobuf: protobuf.NewSerializer(cfg.Scheme, cfg.Scheme),
		protobufLists: protobuf.NewSerializerWithOptions(cfg.Scheme, cfg.Scheme,
			protobuf.SerializerOptions{StreamingCollectionsEncoding: true}),
		resources: map[schema.GroupVersion]map[string]*registry.Resource{},
		inflight:  make(chan struct{}, cfg.MaxInFlight),
	}
	for _, r := range cfg.Resources {
		gv := r.GVR.GroupVersion()
		if _, ok := s.resources[gv]; !ok {
			s.resources[gv] = map[string]*registry.Resource{}
			s.groups = append(s.groups, gv)
		}
		if _, dup := s.resources[gv][r.GVR.Resource]; dup {
			return nil, fmt.Errorf("apiserver: resource %v registered twice", r.GVR)
		}
		if _, err := cfg.Scheme.New(r.GVK()); err != nil {
			return nil, fmt.Errorf("apiserver: %v: %w", r.GVR, err)
		}
		s.resources[gv][r.GVR.Resource] = r
	}
	var err error
	if s.managers, err = newFieldManagers(cfg.Scheme, cfg.Resources); err != nil {
		return nil, err
	}
	if s.metrics, err = newMetrics(cfg.Registerer); err != nil {
		return nil, err
	}
	s.handler = s.buildHandler()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// buildHandler assembles the filter chain around the router: panic
// recovery, metrics, authentication, authorization.
func (s *Server) buildHandler() http.Handler {
	var h http.Handler = http.HandlerFunc(s.route)
	h = s.withLimits(h)
	h = s.withAuth(h)
	h = s.withMetrics(h)
	h = s.withRecovery(h)
	return h
}

func (s *Server) decoder() *decoder { return s.dec }

func (s *Server) lookup(gv schema.GroupVersion, resource string) *registry.Resource {
	return s.resources[gv][resource]
}
