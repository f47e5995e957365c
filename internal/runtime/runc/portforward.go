package runc

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/peapod/peapod/internal/network"
)

// PortForward dials 127.0.0.1:port inside the sandbox's network namespace
// (from a locked OS thread that entered it) and copies both ways until
// either side closes.
func (d *Driver) PortForward(ctx context.Context, sandboxID string, port int32, stream io.ReadWriteCloser) error {
	sb, err := d.getSandbox(sandboxID)
	if err != nil {
		return err
	}
	m := sb.meta()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port)))
	var conn net.Conn
	dial := func() error {
		var err error
		conn, err = (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp4", addr)
		return err
	}
	if m.NetNS == "" {
		err = dial()
	} else {
		err = network.InNetNS(m.NetNS, dial)
	}
	if err != nil {
		return fmt.Errorf("port-forward to port %d: %w", port, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	go func() {
		// Client to pod; when the client is done, half-close so the pod
		// side can finish its reply.
		io.Copy(conn, stream)
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
	}()
	// Pod to client; when the pod side is done, closing the stream tells
	// the client and ends the copy above.
	_, err = io.Copy(stream, conn)
	stream.Close()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
