package apiserver

import (
	"context"
	"encoding/json"
	"io"

	"golang.org/x/net/websocket"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	"k8s.io/apimachinery/pkg/watch"
)

// A watch request that asks for a WebSocket upgrade gets its events as
// WebSocket text messages, one JSON watch event each, as kube-apiserver
// serves them (for browsers and `kubectl proxy` users).

func isWebSocket(rq *request) bool { return wsstream.IsWebSocketRequest(rq.r) }

// wsEvents writes each event as one text message.
type wsEvents struct {
	conn *websocket.Conn
	buf  []byte
}

func (e *wsEvents) format() string                            { return "json" }
func (e *wsEvents) encode(obj runtime.Object) ([]byte, error) { return json.Marshal(obj) }

func (e *wsEvents) write(typ watch.EventType, raw []byte) error {
	e.buf = appendJSONEvent(e.buf[:0], typ, raw)
	return websocket.Message.Send(e.conn, string(e.buf))
}

// serveWebSocketWatch upgrades the connection and runs stream on it; the
// stream ends when the client closes the socket.
func serveWebSocketWatch(ctx context.Context, rq *request, stream func(ctx context.Context, out eventWriter)) {
	websocket.Server{Handler: func(conn *websocket.Conn) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			io.Copy(io.Discard, conn) // returns when the client goes
			cancel()
		}()
		stream(ctx, &wsEvents{conn: conn})
	}}.ServeHTTP(rq.w, rq.r)
}
