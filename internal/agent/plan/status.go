package plan

import (
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peapod/peapod/internal/runtime"
)

// GenerateStatus is the pod's status given what the agent observed: the
// kubelet's generateAPIPodStatus. The phase never leaves Succeeded or
// Failed once the last status (or the API's) had it.
func GenerateStatus(pod *v1.Pod, obs *Observed, now time.Time) v1.PodStatus {
	old := &pod.Status
	if obs.LastStatus != nil {
		old = obs.LastStatus
	}
	cs := sortedContainers(obs)
	sbs := obs.sortedSandboxes()

	s := v1.PodStatus{}
	s.InitContainerStatuses = containerStatuses(pod, pod.Spec.InitContainers, old.InitContainerStatuses, cs, obs.StartErrors, true)
	s.ContainerStatuses = containerStatuses(pod, pod.Spec.Containers, old.ContainerStatuses, cs, obs.StartErrors, false)
	s.EphemeralContainerStatuses = containerStatuses(pod, EphemeralSpecs(pod), old.EphemeralContainerStatuses, cs, obs.StartErrors, false)
	inferInitCompleted(pod, s.InitContainerStatuses, cs)
	setReadiness(pod, &s, obs)

	all := append(append([]v1.ContainerStatus(nil), s.InitContainerStatuses...), s.ContainerStatuses...)
	s.Phase = getPhase(pod, all, pod.DeletionTimestamp != nil)
	if !IsTerminalPhase(s.Phase) {
		switch {
		case IsTerminalPhase(old.Phase):
			s.Phase = old.Phase
		case IsTerminalPhase(pod.Status.Phase):
			s.Phase = pod.Status.Phase
		}
	}
	if s.Phase == old.Phase {
		s.Reason, s.Message = old.Reason, old.Message
	}

	if obs.HostIP != "" {
		s.HostIP = obs.HostIP
		s.HostIPs = []v1.HostIP{{IP: obs.HostIP}}
	}
	if pod.Spec.HostNetwork && obs.HostIP != "" {
		// Host-network pods have the node's address (kubelet: hostIPs).
		s.PodIP = obs.HostIP
		s.PodIPs = []v1.PodIP{{IP: obs.HostIP}}
	} else if ips := sandboxIPs(pod, sbs, obs.HostIP); len(ips) > 0 {
		s.PodIP = ips[0]
		for _, ip := range ips {
			s.PodIPs = append(s.PodIPs, v1.PodIP{IP: ip})
		}
	} else {
		s.PodIP = old.PodIP
		s.PodIPs = append([]v1.PodIP(nil), old.PodIPs...)
	}

	s.StartTime = old.StartTime
	if s.StartTime == nil || s.StartTime.IsZero() {
		t := metav1.NewTime(now)
		s.StartTime = &t
	}
	s.QOSClass = qosClass(pod)
	if !IsTerminalPhase(s.Phase) && PastActiveDeadline(pod, s.StartTime, now) {
		// The kubelet's active deadline handler (ShouldEvict): the pod
		// fails, and being terminal its containers are killed.
		s.Phase, s.Reason, s.Message = v1.PodFailed, ReasonDeadlineExceeded, MessageDeadlineExceeded
	}

	recreate, _, _ := sandboxChanged(pod, sbs)
	s.Conditions = conditions(pod, &s, old, !recreate, now)
	capTerminationMessages(pod, &s)
	return s
}

// maxPodTerminationMessages is what a pod's termination messages may take
// in all (kubecontainer.MaxPodTerminationMessageLogLength).
const maxPodTerminationMessages = 12 * 1024

// capTerminationMessages cuts each terminated container's message to its
// share of maxPodTerminationMessages, keeping the start, as the kubelet's
// status manager (normalizeStatus) does before it writes a status.
func capTerminationMessages(pod *v1.Pod, s *v1.PodStatus) {
	per := maxPodTerminationMessages
	if n := len(pod.Spec.Containers) + len(pod.Spec.InitContainers) + len(pod.Spec.EphemeralContainers); n > 0 {
		per /= n
	}
	capState := func(st *v1.ContainerState) {
		if t := st.Terminated; t != nil && len(t.Message) > per {
			t.Message = t.Message[:per]
		}
	}
	for _, list := range [][]v1.ContainerStatus{s.InitContainerStatuses, s.ContainerStatuses, s.EphemeralContainerStatuses} {
		for i := range list {
			capState(&list[i].State)
			capState(&list[i].LastTerminationState)
		}
	}
}

// inferInitCompleted reports init containers without any runtime record as
// Terminated/Completed once a regular container was created (created,
// running or exited: the kubelet's hasAnyRegularContainerCreated):
// initialization did happen, its records are just gone (SEMANTICS §2).
func inferInitCompleted(pod *v1.Pod, statuses []v1.ContainerStatus, cs containers) {
	if !anyAppContainerCreated(pod, cs) {
		return
	}
	for i := range statuses {
		st := &statuses[i]
		if IsSidecar(pod, st.Name) {
			continue // started again, not completed
		}
		if cs.latest(st.Name) == nil && st.State.Waiting != nil && st.State.Waiting.Reason == ReasonPodInitializing {
			st.State = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed",
				Message: "Unable to get init container status from container runtime and pod has been initialized, treat it as exited normally"}}
		}
	}
}

// sandboxIPs are the IPs of the newest sandbox when it is ready.
func sandboxIPs(pod *v1.Pod, sbs []*runtime.SandboxStatus, hostIP string) []string {
	if len(sbs) == 0 || sbs[0].State != runtime.SandboxReady {
		return nil
	}
	sb := sbs[0]
	ips := sb.IPs
	if len(ips) == 0 && sb.IP != "" {
		ips = []string{sb.IP}
	}
	if len(ips) == 0 && pod.Spec.HostNetwork && hostIP != "" {
		ips = []string{hostIP}
	}
	return ips
}

// sandboxChanged is the kubelet's PodSandboxChanged: whether a new sandbox
// is needed, its attempt, and the current sandbox's ID.
func sandboxChanged(pod *v1.Pod, sbs []*runtime.SandboxStatus) (bool, uint32, string) {
	if len(sbs) == 0 {
		return true, 0, ""
	}
	ready := 0
	for _, s := range sbs {
		if s.State == runtime.SandboxReady {
			ready++
		}
	}
	sb := sbs[0]
	if ready > 1 || sb.State != runtime.SandboxReady {
		return true, sb.Attempt + 1, sb.ID
	}
	if !pod.Spec.HostNetwork && sb.IP == "" && len(sb.IPs) == 0 {
		return true, sb.Attempt + 1, sb.ID
	}
	return false, sb.Attempt, sb.ID
}

// qosClass is the pod's QoS class (v1 qos.GetPodQOS, without pod-level
// resources).
func qosClass(pod *v1.Pod) v1.PodQOSClass {
	requests := v1.ResourceList{}
	limits := v1.ResourceList{}
	guaranteed := true
	isSupported := func(n v1.ResourceName) bool { return n == v1.ResourceCPU || n == v1.ResourceMemory }
	all := append(append([]v1.Container(nil), pod.Spec.Containers...), pod.Spec.InitContainers...)
	for _, c := range all {
		for n, q := range c.Resources.Requests {
			if isSupported(n) && q.Cmp(resource.Quantity{}) == 1 {
				add(requests, n, q)
			}
		}
		seen := 0
		for n, q := range c.Resources.Limits {
			if isSupported(n) && q.Cmp(resource.Quantity{}) == 1 {
				seen++
				add(limits, n, q)
			}
		}
		if seen != 2 {
			guaranteed = false
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return v1.PodQOSBestEffort
	}
	if guaranteed {
		for n, r := range requests {
			if l, ok := limits[n]; !ok || l.Cmp(r) != 0 {
				guaranteed = false
			}
		}
	}
	if guaranteed && len(limits) == 2 {
		return v1.PodQOSGuaranteed
	}
	return v1.PodQOSBurstable
}

func add(l v1.ResourceList, n v1.ResourceName, q resource.Quantity) {
	if cur, ok := l[n]; ok {
		cur.Add(q)
		l[n] = cur
		return
	}
	l[n] = q.DeepCopy()
}

// notLocated is the termination the kubelet reports for a container it
// cannot account for when the pod ends (status_manager.go TerminatePod).
func notLocated() *v1.ContainerStateTerminated {
	return &v1.ContainerStateTerminated{
		Reason:   ReasonContainerStatusUnknown,
		Message:  "The container could not be located when the pod was terminated",
		ExitCode: 137,
	}
}

// TerminalStatus makes s, the last status of a pod whose containers are
// all gone (deleted, or finished), final as the kubelet's TerminatePod
// does: once the pod has initialized, every container not terminated (one
// still waiting to start, say) is reported Terminated with
// ContainerStatusUnknown and exit code 137, and so is every init container
// before the last one with any sign of having started; a pod still
// Pending or Running ends Failed (static pods excepted, as in the
// kubelet).
func TerminalStatus(pod *v1.Pod, s *v1.PodStatus) {
	unknown := func(cs *v1.ContainerStatus) {
		if cs.State.Terminated != nil {
			return
		}
		cs.State = v1.ContainerState{Terminated: notLocated()}
		cs.Ready = false
		started := false
		cs.Started = &started
	}
	// The kubelet asks the API's copy of the status (its sidecars were
	// still running then); s is what the kills left.
	if hasInitialized(pod, s) || hasInitialized(pod, &pod.Status) {
		for i := range s.ContainerStatuses {
			unknown(&s.ContainerStatuses[i])
		}
	}
	for i := range startedInitContainers(s.InitContainerStatuses) {
		unknown(&s.InitContainerStatuses[i])
	}
	if !IsStaticPod(pod) && (s.Phase == v1.PodPending || s.Phase == v1.PodRunning) {
		s.Phase = v1.PodFailed
	}
}

// hasInitialized is the kubelet's hasPodInitialized on status s: no init
// containers, a regular container that ever left waiting, the last init
// container completed with exit code 0 (now or before), or, a sidecar,
// running and started.
func hasInitialized(pod *v1.Pod, s *v1.PodStatus) bool {
	if len(pod.Spec.InitContainers) == 0 {
		return true
	}
	for _, cs := range s.ContainerStatuses {
		if cs.LastTerminationState.Terminated != nil || cs.State.Waiting == nil {
			return true
		}
	}
	if n := len(s.InitContainerStatuses); n > 0 {
		last := s.InitContainerStatuses[n-1]
		if spec := initSpec(pod, last.Name); spec != nil && isRestartableInit(spec) {
			// A sidecar last: initialized once it ran and started.
			return last.State.Running != nil && last.Started != nil && *last.Started
		}
		for _, st := range []v1.ContainerState{last.State, last.LastTerminationState} {
			if t := st.Terminated; t != nil && t.ExitCode == 0 {
				return true
			}
		}
	}
	return false
}

// startedInitContainers is the kubelet's initializedContainers: the init
// container statuses up to the last one with any sign of a start (not
// waiting, or terminated before).
func startedInitContainers(cs []v1.ContainerStatus) []v1.ContainerStatus {
	for i := len(cs) - 1; i >= 0; i-- {
		if cs[i].State.Waiting == nil || cs[i].LastTerminationState.Terminated != nil {
			return cs[:i+1]
		}
	}
	return nil
}

// The failure of a pod past spec.activeDeadlineSeconds (kubelet
// active_deadline.go); the reason is also the event's.
const (
	ReasonDeadlineExceeded  = "DeadlineExceeded"
	MessageDeadlineExceeded = "Pod was active on the node longer than the specified deadline"
)

// PastActiveDeadline reports whether pod, started at start, has run for
// its spec.activeDeadlineSeconds (kubelet pastActiveDeadline).
func PastActiveDeadline(pod *v1.Pod, start *metav1.Time, now time.Time) bool {
	if pod.Spec.ActiveDeadlineSeconds == nil || start == nil || start.IsZero() {
		return false
	}
	return now.Sub(start.Time) >= time.Duration(*pod.Spec.ActiveDeadlineSeconds)*time.Second
}
