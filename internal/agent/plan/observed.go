package plan

import (
	"sort"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/runtime"
)

// Waiting reasons the agent reports, as the kubelet spells them.
const (
	ReasonContainerCreating          = "ContainerCreating"
	ReasonPodInitializing            = "PodInitializing"
	ReasonCrashLoopBackOff           = "CrashLoopBackOff"
	ReasonErrImagePull               = "ErrImagePull"
	ReasonImagePullBackOff           = "ImagePullBackOff"
	ReasonErrImageNeverPull          = "ErrImageNeverPull"
	ReasonInvalidImageName           = "InvalidImageName"
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	ReasonCreateContainerError       = "CreateContainerError"
	ReasonRunContainerError          = "RunContainerError"
	ReasonPreStartHookError          = "PreStartHookError"
	ReasonPostStartHookError         = "PostStartHookError"

	// ReasonContainerStatusUnknown is the terminated reason of a container
	// the runtime lost.
	ReasonContainerStatusUnknown = "ContainerStatusUnknown"
)

// ContainerIDPrefix is prepended to runtime container IDs in the API
// ("<type>://<id>"), as the kubelet does with the runtime's name.
const ContainerIDPrefix = "peapod://"

// StartError is the kubelet's "reason cache" entry: why the last attempt to
// start a container failed. The worker records it; the planner and the
// status generator read it.
type StartError struct {
	Reason  string // one of the Reason* waiting reasons
	Message string
	// At is when the failure happened; failures that have no back-off of
	// their own are retried RetryDelay after it.
	At time.Time
	// Cause is the pull error behind an ImagePullBackOff.
	Cause string
}

// Observed is everything the agent knows about one pod besides its spec.
type Observed struct {
	// Sandboxes and Containers of this pod as the runtime reports them, in
	// any order (Compute sorts its own copy).
	Sandboxes  []*runtime.SandboxStatus
	Containers []*runtime.ContainerStatus
	// StartErrors by container name (regular and init).
	StartErrors map[string]StartError
	// Attempts is the highest attempt the worker has seen per container
	// name, so that restart counts survive the removal of old instances.
	Attempts map[string]uint32
	// LastStatus is the status last published for this pod (nil at first);
	// it keeps terminal phases terminal and start times stable.
	LastStatus *v1.PodStatus
	// Readiness and Startup are probe results by runtime container ID;
	// they are consulted only for containers that declare that probe (a
	// probe without a result has not passed).
	Readiness map[string]bool
	Startup   map[string]bool
	// Liveness and StartupFailed hold false for containers whose liveness
	// or startup probe failed (at its threshold): they are killed and,
	// unless restartPolicy is Never, restarted.
	Liveness      map[string]bool
	StartupFailed map[string]bool
	// HostIP is the node's address.
	HostIP string
}

// sortedSandboxes returns the pod's sandboxes, newest first.
func (o *Observed) sortedSandboxes() []*runtime.SandboxStatus {
	s := append([]*runtime.SandboxStatus(nil), o.Sandboxes...)
	sort.SliceStable(s, func(i, j int) bool {
		if s[i].Attempt != s[j].Attempt {
			return s[i].Attempt > s[j].Attempt
		}
		return s[i].CreatedAt.After(s[j].CreatedAt)
	})
	return s
}

// containers is the pod's runtime containers, newest first, with lookups.
type containers []*runtime.ContainerStatus

func sortedContainers(o *Observed) containers {
	c := append(containers(nil), o.Containers...)
	sort.SliceStable(c, func(i, j int) bool {
		if !c[i].CreatedAt.Equal(c[j].CreatedAt) {
			return c[i].CreatedAt.After(c[j].CreatedAt)
		}
		return c[i].Attempt > c[j].Attempt
	})
	return c
}

// latest returns the newest instance of the named container, or nil.
func (cs containers) latest(name string) *runtime.ContainerStatus {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// nextAttempt is the attempt number of the next instance of name.
func nextAttempt(cs containers, o *Observed, name string) uint32 {
	var next uint32
	found := false
	for _, c := range cs {
		if c.Name == name && (!found || c.Attempt+1 > next) {
			next, found = c.Attempt+1, true
		}
	}
	if a, ok := o.Attempts[name]; ok && a+1 > next {
		next = a + 1
	}
	return next
}
