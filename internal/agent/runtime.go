package agent

import (
	"context"
	"time"

	"github.com/peapod/peapod/internal/runtime"
)

// Runtime is the part of runtime.Service the pod workers use.
type Runtime interface {
	SandboxRuntime
	ContainerRuntime
	ImageRuntime
}

// SandboxRuntime runs pod sandboxes. Errors wrap runtime.ErrNotFound and
// runtime.ErrInvalidState where they apply.
type SandboxRuntime interface {
	RunPodSandbox(ctx context.Context, cfg *runtime.SandboxConfig) (string, error)
	StopPodSandbox(ctx context.Context, id string) error
	RemovePodSandbox(ctx context.Context, id string) error
	ListPodSandboxes(ctx context.Context) ([]*runtime.SandboxStatus, error)
	// PodSandboxStatus wraps runtime.ErrNotFound for unknown IDs.
	PodSandboxStatus(ctx context.Context, id string) (*runtime.SandboxStatus, error)
}

// ContainerRuntime runs containers in sandboxes.
type ContainerRuntime interface {
	CreateContainer(ctx context.Context, sandboxID string, cfg *runtime.ContainerConfig) (string, error)
	StartContainer(ctx context.Context, id string) error
	StopContainer(ctx context.Context, id string, timeout time.Duration) error
	RemoveContainer(ctx context.Context, id string) error
	ListContainers(ctx context.Context, filter runtime.ContainerFilter) ([]*runtime.ContainerStatus, error)
}

// ImageRuntime finds and pulls images. ImageStatus wraps
// runtime.ErrImageNotFound for absent images and runtime.ErrInvalidImage
// for bad names.
type ImageRuntime interface {
	PullImage(ctx context.Context, ref string, auth *runtime.AuthConfig) (string, error)
	ImageStatus(ctx context.Context, ref string) (*runtime.Image, error)
}

// ExitWatcher is what a runtime that reports exits as they happen offers
// (runtime/runc does, from conmon's exit files). With it a pod whose
// containers all run is resynced every IdleResync instead of every
// Resync: its worker is woken when one of them exits.
type ExitWatcher interface {
	// WatchExits reports exits until ctx ends, then closes the channel.
	WatchExits(ctx context.Context) (<-chan runtime.Exit, error)
}

var _ Runtime = runtime.Service(nil)
