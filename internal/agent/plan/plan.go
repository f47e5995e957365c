package plan

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/runtime"
)

// Plan is what the worker should do next for one pod, in this order:
// kill containers, stop sandboxes, remove containers, create a sandbox,
// start the next init container or the app containers.
type Plan struct {
	// Kill lists the containers to stop, with the grace to give each.
	Kill []Kill
	// StopSandboxes lists sandboxes to stop (after Kill).
	StopSandboxes []string
	// RemoveContainers lists dead instances to delete: init container
	// records purged before a new sandbox, and instances older than the
	// newest dead one of each container.
	RemoveContainers []string
	// RemoveSandboxes lists old stopped sandboxes that no container refers to.
	RemoveSandboxes []string

	// CreateSandbox asks for a new sandbox with SandboxAttempt. Otherwise
	// SandboxID is the ready sandbox containers start in.
	CreateSandbox  bool
	SandboxAttempt uint32
	SandboxID      string

	// StartEphemeral lists the ephemeral containers to start (those
	// without any instance: they never restart), before everything else,
	// initialization or not (kubectl debug).
	StartEphemeral []Start
	// StartInits lists the init containers to start, in spec order: the
	// next regular one (one at a time) and sidecars to start or restart.
	// They start before Start's.
	StartInits []Start
	// Start lists the app containers to start, in spec order.
	Start []Start

	// Backoff holds the back-off entries to store (restarts that go ahead
	// advance their container's back-off).
	Backoff map[string]BackoffEntry
	// StartErrors holds waiting reasons the planner decided itself
	// (CrashLoopBackOff, ImagePullBackOff) to record for the status.
	StartErrors map[string]StartError

	// KillPod marks Kill as the whole pod's: stopped in the kubelet's
	// termination order (app containers, then sidecars in reverse order).
	KillPod bool

	// Terminated is set when the pod is being deleted and nothing of it
	// runs any more: the worker may publish the final status and tear the
	// pod down (after the kills still listed, of Unknown containers).
	Terminated bool
}

// Kill is one container to stop. When the plan kills the whole pod
// (KillPod), sidecars get their stop signal only once the app containers
// and the sidecars after them have stopped (their preStop runs at once).
type Kill struct {
	ContainerID string
	Name        string
	Grace       time.Duration
	Message     string
}

// Start is one container to create and start.
type Start struct {
	Name    string
	Index   int // index in spec.initContainers, spec.containers or spec.ephemeralContainers
	Init    bool
	Attempt uint32
	// Ephemeral marks an ephemeral container; TargetID is then the
	// newest instance of its targetContainerName (whose PID namespace it
	// joins), if any.
	Ephemeral bool
	TargetID  string
}

// Empty reports whether the plan asks for nothing.
func (p *Plan) Empty() bool {
	return len(p.Kill) == 0 && len(p.StopSandboxes) == 0 && len(p.RemoveContainers) == 0 &&
		len(p.RemoveSandboxes) == 0 && !p.CreateSandbox && len(p.StartEphemeral) == 0 && len(p.StartInits) == 0 && len(p.Start) == 0 && !p.Terminated
}

// Compute decides the next actions for pod, as the kubelet's
// computePodActions plus its termination path. It does not modify its
// inputs; back-off transitions come back in Plan.Backoff.
func Compute(pod *v1.Pod, obs *Observed, now time.Time, backoff BackoffState) Plan {
	p := Plan{Backoff: map[string]BackoffEntry{}, StartErrors: map[string]StartError{}}
	cs := sortedContainers(obs)
	sbs := obs.sortedSandboxes()

	status := GenerateStatus(pod, obs, now)
	if pod.DeletionTimestamp != nil || IsTerminalPhase(status.Phase) {
		deleting := pod.DeletionTimestamp != nil
		p.killPod(pod, cs, sbs, deleting)
		// A container in Unknown state (its exit was never recorded) gets
		// its kill but does not hold the pod back.
		running := false
		for _, c := range cs {
			running = running || c.State == runtime.ContainerRunning
		}
		p.Terminated = deleting && !running && len(p.StopSandboxes) == 0
		return p
	}

	recreate, attempt, sandboxID := sandboxChanged(pod, sbs)
	if recreate {
		p.killPod(pod, cs, sbs, false)
		if !restartOnFailure(pod) && attempt != 0 && len(cs) != 0 {
			// Containers already ran and will not run again: no new sandbox.
			return p
		}
		var toStart []int
		for i, c := range pod.Spec.Containers {
			if pod.Spec.RestartPolicy == v1.RestartPolicyOnFailure && succeeded(cs.latest(c.Name)) {
				continue
			}
			toStart = append(toStart, i)
		}
		if len(toStart) == 0 && anyAppContainerCreated(pod, cs) {
			return p // initialized, and nothing to start: no new sandbox
		}
		p.CreateSandbox = true
		p.SandboxAttempt = attempt
		if sandboxID != "" && sbs[0].State != runtime.SandboxReady {
			// Release what the dead sandbox still holds (network) first.
			p.StopSandboxes = append(p.StopSandboxes, sandboxID)
		}
		// A new sandbox runs initialization again from the start.
		for _, ic := range pod.Spec.InitContainers {
			for _, c := range cs {
				if c.Name == ic.Name {
					p.RemoveContainers = append(p.RemoveContainers, c.ID)
				}
			}
		}
		// Back-off and attempts still count the purged records, as the
		// kubelet's do (it reads them from the status taken before the purge).
		if len(pod.Spec.InitContainers) > 0 {
			p.startInit(pod, obs, cs, 0, now, backoff)
			return p
		}
		for _, i := range toStart {
			p.startApp(pod, obs, cs, i, now, backoff)
		}
		return p
	}
	p.SandboxID = sandboxID
	p.prune(pod, cs, sbs)
	// Ephemeral containers start even before initialization is done, and
	// once only (kubelet computePodActions).
	for i := range pod.Spec.EphemeralContainers {
		e := &pod.Spec.EphemeralContainers[i]
		if cs.latest(e.Name) != nil {
			continue
		}
		st := Start{Name: e.Name, Index: i, Ephemeral: true}
		if t := cs.latest(e.TargetContainerName); e.TargetContainerName != "" && t != nil {
			st.TargetID = t.ID
		}
		p.StartEphemeral = append(p.StartEphemeral, st)
	}

	ia := computeInitActions(pod, obs, cs)
	if ia.killPod {
		p.killPod(pod, cs, sbs, false)
		return p
	}
	p.Kill = append(p.Kill, ia.kill...)
	if !ia.initialized {
		for _, i := range ia.start {
			p.startInit(pod, obs, cs, i, now, backoff)
		}
		return p
	}

	keep, toStart := 0, 0
	for i, c := range pod.Spec.Containers {
		latest := cs.latest(c.Name)
		if latest != nil && latest.State == runtime.ContainerRunning {
			msg, restart, grace := "", restartOnFailure(pod), killGrace(pod, false)
			switch {
			case latest.Labels[LabelContainerHash] != "" && latest.Labels[LabelContainerHash] != ContainerHash(&c):
				msg, restart = fmt.Sprintf("Container %s definition changed", c.Name), true
			case c.LivenessProbe != nil && failed(obs.Liveness, latest.ID):
				msg, grace = fmt.Sprintf("Container %s failed liveness probe", c.Name), probeGrace(pod, c.LivenessProbe)
			case c.StartupProbe != nil && failed(obs.StartupFailed, latest.ID):
				msg, grace = fmt.Sprintf("Container %s failed startup probe", c.Name), probeGrace(pod, c.StartupProbe)
			default:
				keep++
				continue
			}
			if restart {
				msg += ", will be restarted"
				toStart++
				p.startApp(pod, obs, cs, i, now, backoff)
			}
			p.Kill = append(p.Kill, Kill{ContainerID: latest.ID, Name: c.Name, Grace: grace, Message: msg})
			continue
		}
		if !shouldRestart(pod, latest) {
			continue
		}
		toStart++
		if latest != nil && latest.State == runtime.ContainerUnknown {
			p.Kill = append(p.Kill, Kill{ContainerID: latest.ID, Name: latest.Name, Grace: killGrace(pod, false),
				Message: `Container is in "unknown" state, try killing it before launching new one`}) // kubecontainer.ContainerStateUnknown
		}
		p.startApp(pod, obs, cs, i, now, backoff)
	}
	if keep == 0 && toStart == 0 {
		// The app containers are done: sidecars do not keep the pod
		// alive, and are not restarted.
		p.killPod(pod, cs, sbs, false)
		return p
	}
	for _, i := range ia.start {
		p.startInit(pod, obs, cs, i, now, backoff)
	}
	return p
}

// killPod stops every live container and every ready sandbox.
// As the kubelet's KillPod, it replaces the container kills planned so far
// (a failed probe's message and grace): every container is stopped with
// the pod's grace and "Stopping container c".
func (p *Plan) killPod(pod *v1.Pod, cs containers, sbs []*runtime.SandboxStatus, deleting bool) {
	p.KillPod = true
	p.Kill = nil
	p.StartEphemeral = nil
	grace := killGrace(pod, deleting)
	for _, c := range cs {
		if c.State == runtime.ContainerRunning || c.State == runtime.ContainerUnknown {
			p.Kill = append(p.Kill, Kill{ContainerID: c.ID, Name: c.Name, Grace: grace,
				Message: fmt.Sprintf("Stopping container %s", c.Name)})
		}
	}
	for _, sb := range sbs {
		if sb.State == runtime.SandboxReady {
			p.StopSandboxes = append(p.StopSandboxes, sb.ID)
		}
	}
}

// prune removes dead instances older than each container's newest dead
// one, and old stopped sandboxes left without containers.
func (p *Plan) prune(pod *v1.Pod, cs containers, sbs []*runtime.SandboxStatus) {
	newest := map[string]bool{}
	newestDead := map[string]bool{}
	used := map[string]bool{}
	for _, c := range cs {
		dead := c.State == runtime.ContainerExited || c.State == runtime.ContainerCreated
		keep := !newest[c.Name] || !dead || (c.State == runtime.ContainerExited && !newestDead[c.Name])
		newest[c.Name] = true
		if c.State == runtime.ContainerExited {
			newestDead[c.Name] = true
		}
		if keep {
			used[c.SandboxID] = true
			continue
		}
		p.RemoveContainers = append(p.RemoveContainers, c.ID)
	}
	for i, sb := range sbs {
		if i > 0 && sb.State != runtime.SandboxReady && !used[sb.ID] {
			p.RemoveSandboxes = append(p.RemoveSandboxes, sb.ID)
		}
	}
}

// startInit plans init container i, unless a back-off holds it.
func (p *Plan) startInit(pod *v1.Pod, obs *Observed, cs containers, i int, now time.Time, backoff BackoffState) {
	c := &pod.Spec.InitContainers[i]
	if p.held(pod, c, obs, cs, now, backoff) {
		return
	}
	p.StartInits = append(p.StartInits, Start{Name: c.Name, Index: i, Init: true, Attempt: nextAttempt(cs, obs, c.Name)})
}

// startApp plans app container i, unless a back-off holds it.
func (p *Plan) startApp(pod *v1.Pod, obs *Observed, cs containers, i int, now time.Time, backoff BackoffState) {
	c := &pod.Spec.Containers[i]
	if p.held(pod, c, obs, cs, now, backoff) {
		return
	}
	p.Start = append(p.Start, Start{Name: c.Name, Index: i, Attempt: nextAttempt(cs, obs, c.Name)})
}

// held applies the crash-loop back-off (from the newest dead instance's
// finish time), the image pull back-off, and the retry delay of other
// start failures. A start that goes ahead advances the back-off.
func (p *Plan) held(pod *v1.Pod, c *v1.Container, obs *Observed, cs containers, now time.Time, backoff BackoffState) bool {
	var dead *runtime.ContainerStatus
	for _, s := range cs {
		if s.Name == c.Name && s.State == runtime.ContainerExited {
			dead = s
			break
		}
	}
	if dead != nil {
		key := BackoffKey(pod, c)
		if in, window := backoff.InBackoffSince(key, dead.FinishedAt, now); in {
			p.StartErrors[c.Name] = StartError{Reason: ReasonCrashLoopBackOff, At: now,
				Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", window, c.Name, PodDesc(pod))}
			return true
		}
	}
	if e, ok := obs.StartErrors[c.Name]; ok {
		switch e.Reason {
		case ReasonErrImagePull, ReasonImagePullBackOff:
			if in, _ := backoff.InBackoffSinceUpdate(PullBackoffKey(pod, c.Image), now); in {
				cause := e.Message
				if e.Reason == ReasonImagePullBackOff {
					cause = e.Cause
				}
				msg := fmt.Sprintf("Back-off pulling image %q", c.Image)
				if cause != "" {
					msg += ": " + ReasonErrImagePull + ": " + cause
				}
				p.StartErrors[c.Name] = StartError{Reason: ReasonImagePullBackOff, At: e.At, Message: msg, Cause: cause}
				return true
			}
		case ReasonCrashLoopBackOff:
		default:
			if now.Sub(e.At) < RetryDelay {
				return true
			}
		}
	}
	if dead != nil {
		key := BackoffKey(pod, c)
		p.Backoff[key] = backoff.Next(key, dead.FinishedAt, now)
	}
	return false
}

func initFailed(s *runtime.ContainerStatus) bool {
	if s.State == runtime.ContainerExited && (s.ExitCode != 0 || s.Reason == "OOMKilled") {
		return true
	}
	return s.State == runtime.ContainerUnknown
}

func succeeded(s *runtime.ContainerStatus) bool {
	return s != nil && s.State == runtime.ContainerExited && s.ExitCode == 0
}

func restartOnFailure(pod *v1.Pod) bool {
	return pod.Spec.RestartPolicy != v1.RestartPolicyNever
}

// LabelContainerHash is the runtime label holding ContainerHash of the
// spec a container was created from.
const LabelContainerHash = "io.kubernetes.container.hash"

// ContainerHash hashes the fields of a container that can change in a
// running pod (name and image, as the kubelet's HashContainer since 1.31);
// a running container whose hash differs is restarted.
func ContainerHash(c *v1.Container) string {
	h := fnv.New32a()
	h.Write([]byte(c.Name + "\x00" + c.Image))
	return strconv.FormatUint(uint64(h.Sum32()), 16)
}

// failed reports a probe result that is present and false.
func failed(results map[string]bool, id string) bool {
	ok, found := results[id]
	return found && !ok
}

// PodGrace is the pod's effective termination grace: ContainerGrace, at
// least 1 s (kubelet calculateEffectiveGracePeriod).
func PodGrace(pod *v1.Pod) time.Duration {
	return max(ContainerGrace(pod), time.Second)
}

// killGrace is the grace one container is killed with (before its
// preStop hook; the stop signal gets at least 2 s after it, see
// StopGrace): the pod's effective grace while it is being deleted;
// otherwise spec.terminationGracePeriodSeconds as it is, 0 included
// (kubelet setTerminationGracePeriod), so that a pod with no grace runs
// no preStop hook.
func killGrace(pod *v1.Pod, deleting bool) time.Duration {
	if deleting {
		return PodGrace(pod)
	}
	return ContainerGrace(pod)
}

// ContainerGrace is the grace of a container killed while the pod is not
// being deleted (a restart, a failed postStart hook): the deletion's grace
// if there is one, else spec.terminationGracePeriodSeconds (default 30 s),
// not floored (kubelet setTerminationGracePeriod).
func ContainerGrace(pod *v1.Pod) time.Duration {
	g := int64(30)
	switch {
	case pod.DeletionGracePeriodSeconds != nil:
		g = *pod.DeletionGracePeriodSeconds
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		g = *pod.Spec.TerminationGracePeriodSeconds
	}
	return time.Duration(max(g, 0)) * time.Second
}

// probeGrace is the grace of a container killed because probe failed:
// the probe's terminationGracePeriodSeconds replaces the pod's (a
// deletion's grace still wins).
func probeGrace(pod *v1.Pod, probe *v1.Probe) time.Duration {
	if pod.DeletionGracePeriodSeconds == nil && probe.TerminationGracePeriodSeconds != nil {
		return time.Duration(max(*probe.TerminationGracePeriodSeconds, 0)) * time.Second
	}
	return killGrace(pod, false)
}

// MinStopGrace is the least time a container gets between its stop signal
// and SIGKILL (kubelet minimumGracePeriodInSeconds).
const MinStopGrace = 2 * time.Second

// StopGrace is the stop signal's timeout once the preStop hook has used
// its part of the grace: always at least MinStopGrace, hook or not, as
// the kubelet's killContainer gives every container "a minimal shutdown
// window to avoid unnecessary SIGKILLs".
func StopGrace(left time.Duration) time.Duration {
	return max(left, MinStopGrace)
}

// PodDesc is the kubelet's format.Pod, which its messages name pods by:
// name_namespace(uid).
func PodDesc(pod *v1.Pod) string {
	if pod == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}
