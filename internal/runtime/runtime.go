// Package runtime is the node's container runtime contract, shaped like
// CRI's RuntimeService and ImageService. The agent is its consumer; the
// implementation on runc, conmon and CNI lives in runtime/runc.
//
// A pod is a sandbox (an infra container running catatonit -P that owns the
// network, IPC and UTS namespaces, and the PID namespace when the pod shares
// it) plus containers that join the sandbox's namespaces by path.
package runtime

import (
	"context"
	"errors"
	"io"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/remotecommand"
)

// Sentinel errors, wrapped with context by implementations.
var (
	ErrNotFound      = errors.New("not found")
	ErrImageNotFound = errors.New("image not found")
	ErrInvalidImage  = errors.New("invalid image name")
	ErrAlreadyExists = errors.New("already exists")
	ErrInvalidState  = errors.New("invalid state for operation")
)

// Well-known labels stored with every sandbox and container so that the
// agent can map runtime objects back to pods after a restart.
const (
	LabelPodName       = "io.kubernetes.pod.name"
	LabelPodNamespace  = "io.kubernetes.pod.namespace"
	LabelPodUID        = "io.kubernetes.pod.uid"
	LabelContainerName = "io.kubernetes.container.name"
)

// Service is everything the agent needs from a node runtime.
type Service interface {
	RuntimeService
	ImageService
}

// RuntimeService manages sandboxes and containers.
type RuntimeService interface {
	// RunPodSandbox creates the pod's namespaces, network (CNI), the
	// /etc/hosts, /etc/hostname and /etc/resolv.conf files, and starts the
	// infra container. On failure nothing is left behind.
	RunPodSandbox(ctx context.Context, cfg *SandboxConfig) (sandboxID string, err error)
	// StopPodSandbox stops every container of the sandbox (with their grace
	// already spent by the caller: it kills), tears down the network and
	// stops the infra container. Idempotent.
	StopPodSandbox(ctx context.Context, sandboxID string) error
	// RemovePodSandbox removes a stopped sandbox and everything it owns:
	// containers, mounts, files, cgroups. Idempotent; ErrNotFound is not an error.
	RemovePodSandbox(ctx context.Context, sandboxID string) error
	PodSandboxStatus(ctx context.Context, sandboxID string) (*SandboxStatus, error)
	ListPodSandboxes(ctx context.Context) ([]*SandboxStatus, error)

	// CreateContainer prepares the rootfs and bundle of a container in the
	// sandbox and creates it under conmon (runc create). It does not start it.
	CreateContainer(ctx context.Context, sandboxID string, cfg *ContainerConfig) (containerID string, err error)
	// StartContainer starts a created container (runc start).
	StartContainer(ctx context.Context, containerID string) error
	// StopContainer sends the stop signal (the image's STOPSIGNAL or SIGTERM),
	// waits up to timeout, then SIGKILL, and waits for the exit to be
	// recorded. Idempotent on an exited container.
	StopContainer(ctx context.Context, containerID string, timeout time.Duration) error
	// RemoveContainer deletes an exited container's runtime state, rootfs
	// and bundle. Its log file stays (it belongs to the pod's log directory).
	RemoveContainer(ctx context.Context, containerID string) error
	ContainerStatus(ctx context.Context, containerID string) (*ContainerStatus, error)
	ListContainers(ctx context.Context, filter ContainerFilter) ([]*ContainerStatus, error)

	// ExecSync runs cmd in the container and returns its output and exit code.
	// A command still running at timeout is killed and err wraps context.DeadlineExceeded.
	ExecSync(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (*ExecResult, error)
	// Exec runs cmd in the container with streams (kubectl exec). It returns
	// the command's exit code.
	Exec(ctx context.Context, containerID string, cmd []string, s Streams) (exitCode int, err error)
	// Attach connects streams to the container's main process (kubectl attach).
	Attach(ctx context.Context, containerID string, s Streams) error
	// PortForward copies between stream and port on the sandbox's loopback.
	PortForward(ctx context.Context, sandboxID string, port int32, stream io.ReadWriteCloser) error
}

// ImageService manages the node's images.
type ImageService interface {
	// PullImage pulls ref (normalised as Docker does) and returns the image ID.
	PullImage(ctx context.Context, ref string, auth *AuthConfig) (imageID string, err error)
	// ImageStatus returns the image or ErrImageNotFound.
	ImageStatus(ctx context.Context, ref string) (*Image, error)
	ListImages(ctx context.Context) ([]*Image, error)
	RemoveImage(ctx context.Context, ref string) error
}

// SandboxConfig describes a pod sandbox.
type SandboxConfig struct {
	Name      string
	Namespace string
	UID       string
	Attempt   uint32

	// Hostname is the pod's hostname (ignored with HostNetwork).
	Hostname string
	// Subdomain-qualified name, if any, for /etc/hosts ("<host>.<sub>.<ns>.svc.<domain>").
	HostnameFQDN string

	HostNetwork           bool
	HostIPC               bool
	HostPID               bool
	ShareProcessNamespace bool

	HostAliases  []v1.HostAlias
	DNS          DNSConfig
	PortMappings []PortMapping

	Labels      map[string]string
	Annotations map[string]string

	// LogDirectory is <data-dir>/pods/<ns>_<name>_<uid>; container logs go
	// to <LogDirectory>/<container>/<attempt>.log.
	LogDirectory string
	// CgroupParent is the pod's cgroup path (relative, e.g. "peapod/pod<uid>").
	CgroupParent string
}

// DNSConfig is what /etc/resolv.conf holds, in this order.
type DNSConfig struct {
	Searches []string
	Servers  []string
	Options  []string
}

// PortMapping is a hostPort.
type PortMapping struct {
	Protocol      v1.Protocol
	ContainerPort int32
	HostPort      int32
	HostIP        string
}

// SandboxState is the sandbox lifecycle state.
type SandboxState string

const (
	SandboxReady    SandboxState = "Ready"
	SandboxNotReady SandboxState = "NotReady"
)

// SandboxStatus is a sandbox as the runtime sees it.
type SandboxStatus struct {
	ID          string
	Name        string
	Namespace   string
	UID         string
	Attempt     uint32
	State       SandboxState
	CreatedAt   time.Time
	IP          string // primary pod IP; the host's IP with HostNetwork
	IPs         []string
	InfraPID    int
	NetNSPath   string // path of the network namespace (empty with HostNetwork)
	Labels      map[string]string
	Annotations map[string]string
}

// ContainerConfig describes one container of a sandbox.
type ContainerConfig struct {
	// Spec is the container as the pod spec declares it. Image, Command,
	// Args, WorkingDir, SecurityContext, Resources, Stdin/TTY and
	// TerminationMessagePath are read from it; Env and VolumeMounts are NOT
	// (see Env and Mounts).
	Spec v1.Container
	// PodSecurityContext supplies pod-level defaults (runAsUser, runAsGroup,
	// fsGroup, supplementalGroups, sysctls).
	PodSecurityContext *v1.PodSecurityContext
	Attempt            uint32
	// ImageRef is the image ID returned by PullImage/ImageStatus.
	ImageRef string
	// Env is the container's environment as resolved by the agent, in
	// order (valueFrom and envFrom resolved). $(VAR) references in env
	// values, command and args are expanded by the runtime.
	Env []EnvVar
	// Mounts are resolved volume mounts (the agent prepared the host paths).
	// The runtime adds /etc/hosts, /etc/hostname, /etc/resolv.conf and the
	// termination message file itself, unless a mount already covers them.
	Mounts      []Mount
	Labels      map[string]string
	Annotations map[string]string
	// TargetPID, when set, is the ID of a running container of the same
	// sandbox whose PID namespace this one joins (an ephemeral container's
	// targetContainerName: the debugger sees the target's processes).
	TargetPID string
}

// EnvVar is one environment variable.
type EnvVar struct {
	Name  string
	Value string
}

// Mount is a bind mount of a host path.
type Mount struct {
	ContainerPath string
	HostPath      string
	ReadOnly      bool
	// SubPath mounts are resolved by the agent into HostPath.
	Propagation v1.MountPropagationMode
}

// ContainerState is the container lifecycle state.
type ContainerState string

const (
	ContainerCreated ContainerState = "Created"
	ContainerRunning ContainerState = "Running"
	ContainerExited  ContainerState = "Exited"
	ContainerUnknown ContainerState = "Unknown"
)

// ContainerStatus is a container as the runtime sees it.
type ContainerStatus struct {
	ID         string
	SandboxID  string
	Name       string
	Attempt    uint32
	Image      string // the image as the spec named it
	ImageRef   string // the image ID
	State      ContainerState
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	ExitCode   int32
	// Reason for an exited container: Completed, Error, OOMKilled, StartError.
	Reason string
	// Message is the termination message (file at terminationMessagePath),
	// or for StartError the runtime's error.
	Message     string
	PID         int
	LogPath     string
	Labels      map[string]string
	Annotations map[string]string
}

// Exit reports that a container's or a sandbox's process has exited, as
// CRI's container events do (the kubelet's evented PLEG): ID is the
// container or sandbox, PodUID the pod it belongs to. An Exit with an
// empty ID means events may have been lost: every pod should look again.
type Exit struct {
	ID     string
	PodUID string
}

// ContainerFilter selects containers; zero fields match everything.
type ContainerFilter struct {
	SandboxID string
	Labels    map[string]string
}

// ExecResult is the outcome of ExecSync.
type ExecResult struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
}

// Streams are the I/O of exec and attach. Nil streams are not connected.
type Streams struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	TTY    bool
	Resize <-chan remotecommand.TerminalSize
}

// AuthConfig is registry credentials.
type AuthConfig struct {
	Username      string
	Password      string
	Auth          string // base64 user:password
	IdentityToken string
	RegistryToken string
}

// Image is an image in the node's store.
type Image struct {
	ID          string // sha256:<config digest>
	RepoTags    []string
	RepoDigests []string
	Size        int64
	// From the image config.
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	User       string
	StopSignal string
}
