package plan

import (
	"fmt"

	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/runtime"
)

// initActions is what the init containers need next: the kubelet's
// computeInitContainerActions, sidecars (restartPolicy: Always init
// containers) included.
type initActions struct {
	// start lists the init containers to start, in spec order: the next
	// regular one, and sidecars to start or restart.
	start []int
	// kill lists sidecars to stop before they restart (a failed liveness
	// or startup probe, a changed definition), and an init container in
	// an unknown state.
	kill []Kill
	// initialized reports that the pod has initialized (its app
	// containers are planned).
	initialized bool
	// killPod is set when a regular init container failed and the pod's
	// restartPolicy is Never: the pod is stopped for good.
	killPod bool
}

// computeInitActions is the kubelet's computeInitContainerActions. It
// walks the init containers from the last one, since the records of
// completed ones may be gone: the newest with a record says where
// initialization stands, and the sidecars before it are kept running.
func computeInitActions(pod *v1.Pod, obs *Observed, cs containers) initActions {
	var a initActions
	inits := pod.Spec.InitContainers
	if len(inits) == 0 {
		a.initialized = true
		return a
	}
	// An app container running (or, in a pod with sidecars, created)
	// means initialization happened, even if the init containers' records
	// are gone. (The kubelet's findNextInitContainerToRun, which pods
	// without sidecars still go through, counts running ones only.)
	sidecars := false
	for i := range inits {
		sidecars = sidecars || isRestartableInit(&inits[i])
	}
	for _, c := range pod.Spec.Containers {
		if s := cs.latest(c.Name); s != nil && (s.State == runtime.ContainerRunning || (sidecars && s.State == runtime.ContainerCreated)) {
			a.initialized = true
			break
		}
	}
	previouslyInitialized := a.initialized
	for i := len(inits) - 1; i >= 0; i-- {
		c := &inits[i]
		sidecar := isRestartableInit(c)
		s := cs.latest(c.Name)
		if s == nil {
			// Gone after initialization: a sidecar starts again.
			if previouslyInitialized && sidecar {
				a.start = append(a.start, i)
			}
			continue
		}
		if previouslyInitialized && !sidecar {
			continue // done: only sidecars are kept running
		}
		switch s.State {
		case runtime.ContainerCreated:
			// Created but never started (the start failed): start it.
			a.start = append(a.start, i)
		case runtime.ContainerRunning:
			if !sidecar {
				break // wait for it to exit
			}
			a.runningSidecar(pod, obs, c, s, i, previouslyInitialized)
		case runtime.ContainerExited:
			if sidecar {
				a.start = append(a.start, i) // restarted whatever the policy
				break
			}
			if initFailed(s) {
				if !restartOnFailure(pod) {
					return initActions{killPod: true}
				}
				a.start = append(a.start, i)
				break
			}
			if i == len(inits)-1 {
				a.initialized = true
			} else {
				a.start = append(a.start, i+1)
			}
		default: // unknown
			if !sidecar && !restartOnFailure(pod) {
				return initActions{killPod: true}
			}
			a.kill = append(a.kill, Kill{ContainerID: s.ID, Name: c.Name, Grace: killGrace(pod, false),
				Message: `Init container is in "unknown" state, try killing it before restart`})
			a.start = append(a.start, i)
		}
		previouslyInitialized = true
	}
	if !previouslyInitialized {
		a.start = append(a.start, 0) // nothing ran yet: the first one
	}
	// Found walking backwards; started in spec order.
	for l, r := 0, len(a.start)-1; l < r; l, r = l+1, r-1 {
		a.start[l], a.start[r] = a.start[r], a.start[l]
	}
	return a
}

// runningSidecar plans running sidecar i: once started (its startup probe
// passed, or it has none) the next init container may start, or the pod
// has initialized if it is the last; a failed startup or liveness probe, or
// a changed definition, restarts it.
func (a *initActions) runningSidecar(pod *v1.Pod, obs *Observed, c *v1.Container, s *runtime.ContainerStatus, i int, previouslyInitialized bool) {
	restart := func(msg string, grace bool, probe *v1.Probe) {
		g := killGrace(pod, false)
		if grace {
			g = probeGrace(pod, probe)
		}
		a.kill = append(a.kill, Kill{ContainerID: s.ID, Name: c.Name, Grace: g, Message: msg})
		a.start = append(a.start, i)
	}
	if c.StartupProbe != nil {
		if failed(obs.StartupFailed, s.ID) {
			restart(fmt.Sprintf("Init container %s failed startup probe", c.Name), true, c.StartupProbe)
			return
		}
		if !obs.Startup[s.ID] {
			return // not started yet: the next one waits
		}
	}
	if i == len(pod.Spec.InitContainers)-1 {
		a.initialized = true
	} else if !previouslyInitialized {
		a.start = append(a.start, i+1)
	}
	if h := s.Labels[LabelContainerHash]; h != "" && h != ContainerHash(c) {
		restart(fmt.Sprintf("Init container %s definition changed", c.Name), false, nil)
		return
	}
	if c.LivenessProbe != nil && failed(obs.Liveness, s.ID) {
		restart(fmt.Sprintf("Init container %s failed liveness probe", c.Name), true, c.LivenessProbe)
	}
}

// anyAppContainerCreated is the kubelet's hasAnyRegularContainerCreated:
// an app container was created (created, running or exited), so the pod
// did initialize.
func anyAppContainerCreated(pod *v1.Pod, cs containers) bool {
	for _, c := range pod.Spec.Containers {
		if l := cs.latest(c.Name); l != nil && (l.State == runtime.ContainerRunning || l.State == runtime.ContainerCreated || l.State == runtime.ContainerExited) {
			return true
		}
	}
	return false
}

// FieldPath is how events name container name of pod:
// spec.initContainers{name} or spec.containers{name}.
func FieldPath(pod *v1.Pod, name string) string {
	if initSpec(pod, name) != nil {
		return fmt.Sprintf("spec.initContainers{%s}", name)
	}
	for _, e := range pod.Spec.EphemeralContainers {
		if e.Name == name {
			return fmt.Sprintf("spec.ephemeralContainers{%s}", name)
		}
	}
	return fmt.Sprintf("spec.containers{%s}", name)
}

// EphemeralSpecs are pod's ephemeral containers as containers (the
// fields they share).
func EphemeralSpecs(pod *v1.Pod) []v1.Container {
	if len(pod.Spec.EphemeralContainers) == 0 {
		return nil
	}
	out := make([]v1.Container, len(pod.Spec.EphemeralContainers))
	for i := range pod.Spec.EphemeralContainers {
		out[i] = v1.Container(pod.Spec.EphemeralContainers[i].EphemeralContainerCommon)
	}
	return out
}

// IsSidecar reports whether name is a sidecar of pod (an init container
// with restartPolicy Always).
func IsSidecar(pod *v1.Pod, name string) bool {
	c := initSpec(pod, name)
	return c != nil && isRestartableInit(c)
}

// StopAfter is the kubelet's terminationOrdering for a pod kill: for each
// of kills, the indexes of the kills whose containers must have stopped
// before it gets its stop signal (its preStop hook runs at once). App
// containers and regular init containers wait for nobody; a sidecar waits
// for every app container and every later sidecar being stopped, so
// sidecars stop last, in reverse order.
func StopAfter(pod *v1.Pod, kills []Kill) [][]int {
	sidecarIndex := map[string]int{}
	for i := range pod.Spec.InitContainers {
		if isRestartableInit(&pod.Spec.InitContainers[i]) {
			sidecarIndex[pod.Spec.InitContainers[i].Name] = i
		}
	}
	app := map[string]bool{}
	for _, c := range pod.Spec.Containers {
		app[c.Name] = true
	}
	out := make([][]int, len(kills))
	for i, k := range kills {
		si, ok := sidecarIndex[k.Name]
		if !ok {
			continue
		}
		for j, o := range kills {
			if oi, side := sidecarIndex[o.Name]; app[o.Name] || (side && oi > si) {
				out[i] = append(out[i], j)
			}
		}
	}
	return out
}
