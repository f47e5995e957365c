package prober

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func TestGRPC(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(ln)
	defer srv.Stop()
	hs.SetServingStatus("db", healthpb.HealthCheckResponse_NOT_SERVING)
	_, port := hostPort(t, ln.Addr().String())
	ctx := context.Background()
	if got, out := GRPC(ctx, Target{}, "127.0.0.1", port, "", time.Second); got != Success {
		t.Fatalf("serving: %v %q", got, out)
	}
	if got, out := GRPC(ctx, Target{}, "127.0.0.1", port, "db", time.Second); got != Failure || out != `service unhealthy (responded with "NOT_SERVING")` {
		t.Fatalf("not serving: %v %q", got, out)
	}
	srv.Stop()
	if got, out := GRPC(ctx, Target{}, "127.0.0.1", port, "", 300*time.Millisecond); got != Failure || !strings.Contains(out, "127.0.0.1") {
		t.Fatalf("closed: %v %q", got, out)
	}
}
