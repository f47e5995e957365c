package agent

import (
	"context"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/agent/hooks"
	"github.com/peapod/peapod/internal/agent/prober"
)

// Hooks run around a container's life (package hooks: postStart and
// preStop with exec, httpGet and sleep handlers).
type Hooks interface {
	// PostStart runs after the container started; an error kills it and
	// is reported as PostStartHookError.
	PostStart(ctx context.Context, pod *v1.Pod, c *v1.Container, containerID string, t prober.Target) error
	// PreStop runs before the container is stopped and returns the grace
	// left for the stop signal.
	PreStop(ctx context.Context, pod *v1.Pod, c *v1.Container, containerID string, t prober.Target, grace time.Duration) time.Duration
}

var _ Hooks = (*hooks.Runner)(nil)

// noHooks runs nothing (a runtime without exec).
type noHooks struct{}

var _ Hooks = noHooks{}

func (noHooks) PostStart(context.Context, *v1.Pod, *v1.Container, string, prober.Target) error {
	return nil
}

func (noHooks) PreStop(_ context.Context, _ *v1.Pod, _ *v1.Container, _ string, _ prober.Target, grace time.Duration) time.Duration {
	return grace
}
