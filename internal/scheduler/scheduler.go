package scheduler

import (
	"context"
	"log/slog"

	"k8s.io/client-go/kubernetes"
)

// Options configure a Scheduler.
type Options struct {
	Log *slog.Logger
}

// Scheduler schedules pods.
type Scheduler struct {
	client kubernetes.Interface
	opts   Options
}

// New returns a Scheduler.
func New(client kubernetes.Interface, opts Options) *Scheduler {
	return &Scheduler{client: client, opts: opts}
}

// Run schedules until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
