package cli

import (
	"context"
	"fmt"
	"log/slog"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/peapod/peapod/internal/scheduler"
)

// startScheduler runs the scheduler of `peapod server` in the background,
// leader-elected through the Lease kube-system/peapod-scheduler, talking to
// the API at host (https://...) as the admin with a protobuf client. It
// stops when ctx ends.
func startScheduler(ctx context.Context, host string, caPEM []byte, token string, log *slog.Logger) error {
	cfg := &rest.Config{
		Host:            host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: caPEM},
		QPS:             5000,
		Burst:           10000,
		UserAgent:       "peapod-scheduler",
	}
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("scheduler client: %w", err)
	}
	s := scheduler.New(client, scheduler.Options{Log: log.With("component", "scheduler"), LeaderElection: true})
	go func() {
		if err := s.Run(ctx); err != nil {
			log.Error("scheduler stopped", "err", err)
		}
	}()
	return nil
}
