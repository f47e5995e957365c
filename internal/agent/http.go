package agent

import (
	"encoding/json"
	"net/http"
	"net/http/pprof"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PodLister lists the pods the agent runs, with their latest status.
type PodLister interface {
	Pods() []v1.Pod
}

// Handler serves the agent's read-only endpoints: /healthz, /pods (a
// v1.PodList, like the kubelet's /pods) and Go's profiles under
// /debug/pprof/ (as the kubelet; behind the agent API's authentication).
func Handler(pods PodLister) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok"))
	})
	mux.HandleFunc("GET /pods", func(w http.ResponseWriter, _ *http.Request) {
		list := v1.PodList{
			TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"},
			Items:    pods.Pods(),
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(&list)
	})
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}
