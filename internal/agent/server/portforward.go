package server

import (
	"context"
	"io"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	"k8s.io/kubelet/pkg/cri/streaming/portforward"
)

// servePortForward serves SPDY port-forwarding (portforward.k8s.io). The
// WebSocket attempt kubectl makes first (SPDY tunnelled in WebSocket) gets
// 400, so that kubectl falls back to plain SPDY.
func (s *server) servePortForward(w http.ResponseWriter, r *http.Request) {
	ns, pod := r.PathValue("ns"), r.PathValue("pod")
	if wsstream.IsWebSocketRequest(r) {
		writeStatus(w, apierrors.NewBadRequest("port-forward over WebSocket is not supported; use SPDY"))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		writeStatus(w, apierrors.NewMethodNotSupported(podsResource, r.Method))
		return
	}
	sandboxID, err := s.cfg.Pods.LookupSandbox(r.Context(), ns, pod)
	if err != nil {
		writeStatus(w, lookupError(err, pod, ""))
		return
	}
	pf := &sandboxForwarder{rt: s.cfg.Runtime, sandboxID: sandboxID, logf: s.cfg.Logf}
	portforward.ServePortForward(w, r, pf, pod, "", nil, s.cfg.StreamIdleTimeout, streamCreationTimeout, portforward.SupportedProtocols)
}

// sandboxForwarder adapts runtime.PortForward to the kubelet's
// PortForwarder for one sandbox.
type sandboxForwarder struct {
	rt        Streamer
	sandboxID string
	logf      func(string, ...any)
}

var _ portforward.PortForwarder = (*sandboxForwarder)(nil)

func (f *sandboxForwarder) PortForward(ctx context.Context, _ string, _ types.UID, port int32, stream io.ReadWriteCloser) error {
	return f.rt.PortForward(ctx, f.sandboxID, port, stream)
}
