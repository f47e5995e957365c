package prober

import (
	"context"
	"fmt"
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
	// A closed port: retried until the timeout, as the kubelet's blocking
	// dial, then the kubelet's words.
	start := time.Now()
	got, out := GRPC(ctx, Target{}, "127.0.0.1", port, "", 300*time.Millisecond)
	want := fmt.Sprintf(`timeout: failed to connect service "127.0.0.1:%d" within 300ms: context deadline exceeded`, port)
	if took := time.Since(start); got != Failure || out != want || took < 300*time.Millisecond || took > 2*time.Second {
		t.Fatalf("closed: %v %q after %v", got, out, took)
	}
	// The agent cancelling the probe ends the wait at once.
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	start = time.Now()
	if got, out := GRPC(cctx, Target{}, "127.0.0.1", port, "", 5*time.Second); got != Failure || !strings.Contains(out, "context canceled") || time.Since(start) > time.Second {
		t.Fatalf("cancelled: %v %q", got, out)
	}
	// A gRPC server without the health service: the kubelet's words.
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bare := grpc.NewServer()
	go bare.Serve(ln2)
	defer bare.Stop()
	_, port2 := hostPort(t, ln2.Addr().String())
	want = "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): unknown service grpc.health.v1.Health"
	if got, out := GRPC(ctx, Target{}, "127.0.0.1", port2, "", time.Second); got != Failure || out != want {
		t.Fatalf("no health service: %v %q", got, out)
	}
}
