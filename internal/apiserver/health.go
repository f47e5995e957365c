package apiserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/peapod/peapod/internal/version"
)

func (s *Server) serveVersion(w http.ResponseWriter, r *http.Request) {
	v := version.Info()
	s.writeJSON(w, r, http.StatusOK, &v)
}

// serveHealth answers /healthz, /livez and /readyz (and their /<check>
// paths). Readiness includes the storage check; ?verbose lists the checks.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	type check struct {
		name string
		err  error
	}
	checks := []check{{name: "ping"}}
	if !strings.HasPrefix(r.URL.Path, "/livez") && s.cfg.Readyz != nil {
		checks = append(checks, check{name: "etcd", err: s.cfg.Readyz(r.Context())})
	}
	failed := false
	var b strings.Builder
	for _, c := range checks {
		if c.err != nil {
			failed = true
			fmt.Fprintf(&b, "[-]%s failed: %v\n", c.name, c.err)
		} else {
			fmt.Fprintf(&b, "[+]%s ok\n", c.name)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	name := strings.TrimPrefix(strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)[0], "/")
	if failed {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "%s%s check failed\n", b.String(), name)
		return
	}
	if _, verbose := r.URL.Query()["verbose"]; verbose {
		fmt.Fprintf(w, "%s%s check passed\n", b.String(), name)
		return
	}
	fmt.Fprint(w, "ok")
}

// writeJSONRaw writes v as JSON with the Content-Type already set.
func (s *Server) writeJSONRaw(w http.ResponseWriter, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}
