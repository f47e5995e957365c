package apiserver

import (
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series, named as kube-apiserver's.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inflight prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total",
			Help: "API requests by verb, group, resource, subresource and HTTP code.",
		}, []string{"verb", "group", "resource", "subresource", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apiserver_request_duration_seconds",
			Help:    "API request latency by verb, group, resource and subresource (watches excluded).",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"verb", "group", "resource", "subresource"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "apiserver_current_inflight_requests",
			Help: "Requests being served.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.inflight} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (s *Server) withMetrics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		s.metrics.inflight.Inc()
		defer func() {
			s.metrics.inflight.Dec()
			info := parseRequestInfo(r)
			verb := info.Verb
			if !info.IsResource {
				verb = r.Method
			}
			code := rec.code
			if code == 0 {
				code = http.StatusOK
			}
			s.metrics.requests.WithLabelValues(verb, info.GV.Group, info.Resource, info.Subresource, strconv.Itoa(code)).Inc()
			if verb != "watch" && info.Subresource != "log" && info.Subresource != "exec" && info.Subresource != "attach" && info.Subresource != "portforward" {
				s.metrics.latency.WithLabelValues(verb, info.GV.Group, info.Resource, info.Subresource).Observe(time.Since(start).Seconds())
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// servePprof serves Go profiles (admins only: the authorizer does not let
// other users reach /debug paths), as kube-apiserver's --profiling.
func (s *Server) servePprof(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimPrefix(r.URL.Path, "/debug/pprof/") {
	case "profile":
		pprof.Profile(w, r)
	case "trace":
		pprof.Trace(w, r)
	case "symbol":
		pprof.Symbol(w, r)
	case "cmdline":
		pprof.Cmdline(w, r)
	default:
		pprof.Index(w, r)
	}
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Gatherer == nil {
		http.NotFound(w, r)
		return
	}
	promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}
