package plan

import (
	"sort"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peapod/peapod/internal/runtime"
)

// containerStatuses builds the API statuses of specs (the pod's init or
// regular containers) as the kubelet's convertToAPIContainerStatuses does:
// defaults, then the two newest runtime instances (state and lastState),
// then the waiting reason of a container that should be restarted and has
// a recorded start error.
func containerStatuses(pod *v1.Pod, specs []v1.Container, previous []v1.ContainerStatus, cs containers, startErrors map[string]StartError, isInit bool) []v1.ContainerStatus {
	if len(specs) == 0 {
		return nil
	}
	old := make(map[string]v1.ContainerStatus, len(previous))
	for _, s := range previous {
		old[s.Name] = s
	}
	defaultReason := ReasonContainerCreating
	if len(pod.Spec.InitContainers) > 0 {
		defaultReason = ReasonPodInitializing
	}

	statuses := make(map[string]*v1.ContainerStatus, len(specs))
	for _, c := range specs {
		st := &v1.ContainerStatus{
			Name:  c.Name,
			Image: c.Image,
			State: v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: defaultReason}},
		}
		if o, ok := old[c.Name]; ok {
			if o.State.Terminated != nil {
				o := *o.DeepCopy()
				st = &o
			} else {
				st.RestartCount = o.RestartCount
				st.LastTerminationState = *o.LastTerminationState.DeepCopy()
			}
		}
		statuses[c.Name] = st
	}

	// A container that used to run and has vanished from the runtime did
	// terminate, even if its exit is unknown.
	for _, c := range specs {
		if l := cs.latest(c.Name); l != nil && l.State == runtime.ContainerCreated {
			continue
		}
		o, ok := old[c.Name]
		if !ok || o.State.Terminated != nil || o.State.Running == nil {
			continue
		}
		st := statuses[c.Name]
		if st.State.Waiting == nil || st.State.Waiting.Reason != defaultReason || st.LastTerminationState.Terminated != nil {
			continue
		}
		st.LastTerminationState.Terminated = &v1.ContainerStateTerminated{
			Reason:   ReasonContainerStatusUnknown,
			Message:  "The container could not be located when the pod was deleted.  The container used to be Running",
			ExitCode: 137,
		}
		if pod.DeletionTimestamp == nil {
			st.RestartCount++
		}
	}

	// The newest instance is the state, the one before it the lastState.
	seen := map[string]int{}
	for _, c := range cs {
		st, ok := statuses[c.Name]
		if !ok || seen[c.Name] >= 2 {
			continue
		}
		var oldPtr *v1.ContainerStatus
		if o, ok := old[c.Name]; ok {
			oldPtr = &o
		}
		conv := convertContainerStatus(c, oldPtr)
		if seen[c.Name] == 0 {
			statuses[c.Name] = conv
		} else {
			st.LastTerminationState = conv.State
		}
		seen[c.Name]++
	}

	// A container that should be (re)started and whose last start failed
	// is Waiting with the failure's reason.
	for _, c := range specs {
		latest := cs.latest(c.Name)
		// As the kubelet, sidecars included: an init container that
		// exited 0 stays Terminated, and the pod's policy decides.
		if isInit && latest != nil && latest.State == runtime.ContainerExited && latest.ExitCode == 0 {
			continue
		}
		if !shouldRestart(pod, latest) {
			continue
		}
		e, ok := startErrors[c.Name]
		if !ok {
			continue
		}
		st := statuses[c.Name]
		if st.State.Terminated != nil {
			st.LastTerminationState = st.State
		}
		st.State = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: e.Reason, Message: e.Message}}
	}

	out := make([]v1.ContainerStatus, 0, len(specs))
	for _, c := range specs {
		out = append(out, *statuses[c.Name])
	}
	if !isInit {
		sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	}
	return out
}

// convertContainerStatus maps one runtime instance to an API status.
func convertContainerStatus(c *runtime.ContainerStatus, old *v1.ContainerStatus) *v1.ContainerStatus {
	cid := ContainerIDPrefix + c.ID
	st := &v1.ContainerStatus{
		Name:         c.Name,
		RestartCount: int32(c.Attempt),
		Image:        c.Image,
		ImageID:      c.ImageRef,
		ContainerID:  cid,
	}
	switch {
	case c.State == runtime.ContainerRunning:
		st.State.Running = &v1.ContainerStateRunning{StartedAt: apiTime(c.StartedAt)}
	case c.State == runtime.ContainerCreated:
		st.State.Waiting = &v1.ContainerStateWaiting{}
	case c.State == runtime.ContainerExited:
		st.State.Terminated = &v1.ContainerStateTerminated{
			ExitCode:    c.ExitCode,
			Reason:      c.Reason,
			Message:     c.Message,
			StartedAt:   apiTime(c.StartedAt),
			FinishedAt:  apiTime(c.FinishedAt),
			ContainerID: cid,
		}
	case c.State == runtime.ContainerUnknown && old != nil && old.State.Running != nil:
		st.State.Terminated = notLocated()
		st.RestartCount = old.RestartCount + 1
	default:
		st.State.Waiting = &v1.ContainerStateWaiting{}
	}
	return st
}

// shouldRestart is the kubelet's ShouldContainerBeRestarted, given the
// container's newest runtime instance (nil if none).
func shouldRestart(pod *v1.Pod, latest *runtime.ContainerStatus) bool {
	if pod.DeletionTimestamp != nil {
		return false
	}
	if latest == nil {
		return true
	}
	switch latest.State {
	case runtime.ContainerRunning:
		return false
	case runtime.ContainerUnknown, runtime.ContainerCreated:
		return true
	}
	switch pod.Spec.RestartPolicy {
	case v1.RestartPolicyNever:
		return false
	case v1.RestartPolicyOnFailure:
		return latest.ExitCode != 0
	}
	return true
}

// setReadiness fills started and ready as the prober manager does, with
// probe results from obs (containers without probes pass): a regular init
// container is started while it runs and ready once it exited 0; a
// sidecar and an app container are started once running and past their
// startup probe, and ready once started and past their readiness probe.
func setReadiness(pod *v1.Pod, s *v1.PodStatus, obs *Observed) {
	probed := func(st *v1.ContainerStatus, spec *v1.Container) {
		started := false
		ready := false
		if st.State.Running != nil {
			started = probePassed(obs.Startup, st.ContainerID, spec != nil && spec.StartupProbe != nil)
			ready = started && probePassed(obs.Readiness, st.ContainerID, spec != nil && spec.ReadinessProbe != nil)
		}
		st.Started = &started
		st.Ready = ready
	}
	for i := range s.InitContainerStatuses {
		st := &s.InitContainerStatuses[i]
		if spec := initSpec(pod, st.Name); spec != nil && isRestartableInit(spec) {
			probed(st, spec)
			continue
		}
		started := st.State.Running != nil
		st.Started = &started
		st.Ready = st.State.Terminated != nil && st.State.Terminated.ExitCode == 0
	}
	specs := map[string]*v1.Container{}
	for i := range pod.Spec.Containers {
		specs[pod.Spec.Containers[i].Name] = &pod.Spec.Containers[i]
	}
	for i := range s.ContainerStatuses {
		probed(&s.ContainerStatuses[i], specs[s.ContainerStatuses[i].Name])
	}
}

// initSpec is pod's init container name (nil if none).
func initSpec(pod *v1.Pod, name string) *v1.Container {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	return nil
}

func probePassed(results map[string]bool, containerID string, hasProbe bool) bool {
	if !hasProbe {
		return true
	}
	return results[strings.TrimPrefix(containerID, ContainerIDPrefix)]
}

// apiTime converts t, keeping the zero time zero (null in JSON).
func apiTime(t time.Time) metav1.Time {
	if t.IsZero() {
		return metav1.Time{}
	}
	return metav1.NewTime(t)
}
