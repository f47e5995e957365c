package agent

import (
	"context"
	"time"

	v1 "k8s.io/api/core/v1"
)

// Hooks run around a container's life: the seam where the lifecycle hook
// handlers (postStart, preStop: exec, httpGet, sleep) plug in later.
type Hooks interface {
	// PostStart runs after the container started; an error kills it and
	// is reported as PostStartHookError.
	PostStart(ctx context.Context, pod *v1.Pod, c *v1.Container, containerID string) error
	// PreStop runs before the container is stopped and returns the grace
	// left for the stop signal.
	PreStop(ctx context.Context, pod *v1.Pod, c *v1.Container, containerID string, grace time.Duration) time.Duration
}

// noHooks runs nothing.
type noHooks struct{}

var _ Hooks = noHooks{}

func (noHooks) PostStart(context.Context, *v1.Pod, *v1.Container, string) error { return nil }

func (noHooks) PreStop(_ context.Context, _ *v1.Pod, _ *v1.Container, _ string, grace time.Duration) time.Duration {
	return grace
}
