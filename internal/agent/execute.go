package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/agent/plan"
	"github.com/peapod/peapod/internal/agent/prober"
	"github.com/peapod/peapod/internal/agent/volume"
	"github.com/peapod/peapod/internal/image"
	"github.com/peapod/peapod/internal/runtime"
)

// execute carries out a plan in the planner's order. Failures to start a
// container are recorded as start errors (the status shows them); other
// failures end the pass and are returned. ictx (ctx, or a context the pod's
// deletion cancels: see worker.sync) bounds what may wait without end
// (hooks, pulls, stops within a grace); runtime objects are made and
// removed under ctx, so none is left half done.
func (w *worker) execute(ctx, ictx context.Context, pod *v1.Pod, obs *plan.Observed, p *plan.Plan) error {
	if p.CreateSandbox && p.SandboxAttempt > 0 && !w.orphan {
		w.events.Event(pod, "", v1.EventTypeNormal, EventSandboxChanged, "Pod sandbox changed, it will be killed and re-created.")
	}
	w.kill(ictx, pod, obs, p.Kill, p.KillPod)
	if ictx.Err() != nil {
		// A newer pod version (or the agent stopping): nothing after the
		// kills runs, or an agent restart in the middle of a grace would
		// SIGKILL the sandbox.
		return errInterrupted
	}
	var errs []error
	for _, id := range p.StopSandboxes {
		if err := w.rt.StopPodSandbox(ctx, id); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("stopping sandbox %s: %w", id, err))
		}
	}
	for _, id := range p.RemoveContainers {
		if err := w.rt.RemoveContainer(ctx, id); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("removing container %s: %w", id, err))
		}
	}
	for _, id := range p.RemoveSandboxes {
		if err := w.rt.RemovePodSandbox(ctx, id); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("removing sandbox %s: %w", id, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if !p.CreateSandbox && len(p.StartEphemeral) == 0 && len(p.StartInits) == 0 && len(p.Start) == 0 {
		return nil
	}

	podDir := PodDir(w.dataDir, pod)
	if err := os.MkdirAll(podDir, 0o755); err != nil {
		return fmt.Errorf("pod directory: %w", err)
	}
	paths, verr := w.volumes.SetUp(ctx, pod, podDir, w.objects)
	if verr != nil {
		// As the kubelet: no sandbox until every volume is ready; the
		// pod waits in ContainerCreating and the next sync retries.
		w.failedMount(pod, verr)
		return verr
	}
	w.volumePaths = paths
	w.volumesRefreshedAt = w.now()

	sandboxID := p.SandboxID
	if p.CreateSandbox {
		if pol := pod.Spec.DNSPolicy; pol == v1.DNSClusterFirst || pol == v1.DNSClusterFirstWithHostNet {
			w.events.Event(pod, "", v1.EventTypeWarning, EventMissingClusterDNS, fmt.Sprintf(
				"pod: %q. kubelet does not have ClusterDNS IP configured and cannot create Pod using %q policy. Falling back to %q policy.",
				plan.PodDesc(pod), pol, v1.DNSDefault))
		}
		id, err := w.rt.RunPodSandbox(ctx, w.sandboxConfig(pod, p.SandboxAttempt))
		if err != nil {
			w.sandboxRetryAt = w.now().Add(plan.RetryDelay)
			w.events.Event(pod, "", v1.EventTypeWarning, EventFailedSandbox, fmt.Sprintf("Failed to create pod sandbox: %v", err))
			return fmt.Errorf("creating the pod sandbox: %w", err)
		}
		sandboxID = id
		if w.sandboxIDs != nil {
			w.sandboxIDs[id] = true
		}
	}
	net, target, err := w.sandboxNetwork(ctx, sandboxID)
	if err != nil {
		return err
	}
	// As the kubelet's SyncPod: ephemeral, then init, then app containers.
	for _, s := range append(append(append([]plan.Start(nil), p.StartEphemeral...), p.StartInits...), p.Start...) {
		if ictx.Err() != nil {
			return errInterrupted // deleted: start nothing more
		}
		var c *v1.Container
		switch {
		case s.Ephemeral:
			ec := v1.Container(pod.Spec.EphemeralContainers[s.Index].EphemeralContainerCommon)
			c = &ec
		case s.Init:
			c = &pod.Spec.InitContainers[s.Index]
		default:
			c = &pod.Spec.Containers[s.Index]
		}
		if verr != nil {
			w.startFailed(c, plan.ReasonCreateContainerConfigError, verr.Error())
			continue
		}
		w.start(ctx, ictx, pod, sandboxID, net, c, s.Attempt, s.TargetID, target)
	}
	return nil
}

// errInterrupted ends a pass that the pod's deletion (or a shorter grace)
// cut short; the next pass plans again with the newer pod.
var errInterrupted = errors.New("interrupted by a newer version of the pod")

// kill stops containers in parallel, each with its grace (preStop first).
// While they stop (up to the grace), a nudge from the prober publishes the
// pod's status with the probes' latest results, as the kubelet's status
// manager does on its own: a pod being deleted shows not ready at once.
// ctx ends the waits early (a shorter grace, which the next pass applies).
// When the whole pod is killed (podKill), sidecars get their stop signal
// after the app containers and the later sidecars have stopped
// (plan.StopAfter), within their grace.
func (w *worker) kill(ctx context.Context, pod *v1.Pod, obs *plan.Observed, kills []plan.Kill, podKill bool) {
	if len(kills) == 0 {
		return
	}
	t := probeTarget(obs.Sandboxes)
	after := make([][]int, len(kills))
	if podKill {
		after = plan.StopAfter(pod, kills)
	}
	stopped := make([]chan struct{}, len(kills))
	for i := range stopped {
		stopped[i] = make(chan struct{})
	}
	var wg sync.WaitGroup
	for i, k := range kills {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(stopped[i])
			// As the kubelet: the Killing event, then preStop (within
			// the grace), then the stop signal with the grace left.
			if !w.orphan {
				w.events.Event(pod, plan.FieldPath(pod, k.Name), v1.EventTypeNormal, EventKilling, k.Message)
			}
			var turn func(time.Duration) time.Duration
			if len(after[i]) > 0 {
				turn = func(grace time.Duration) time.Duration { return waitForTurn(ctx, stopped, after[i], grace) }
			}
			w.stopContainer(ctx, pod, specOf(pod, k.Name), k.Name, k.ContainerID, t, k.Grace, turn)
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	nudged := false
	for {
		select {
		case <-done:
			if nudged {
				w.wake() // the pass after this one looks at what came
			}
			return
		case <-w.nudge:
			nudged = true
			w.publishProbes(pod, obs)
		}
	}
}

// publishProbes publishes pod's status as of obs with the probes' current
// results (a container's readiness changed while the worker was busy).
func (w *worker) publishProbes(pod *v1.Pod, obs *plan.Observed) {
	if w.orphan || w.prober == nil || w.lastStatus == nil {
		return
	}
	o := *obs
	o.Readiness, o.Startup, o.Liveness, o.StartupFailed = w.prober.Observed(runningIDs(obs.Containers))
	w.publish(pod, &o)
}

// waitForTurn is the kubelet's terminationOrdering.waitForTurn: it waits
// until the kills at indexes prereqs have stopped, at most grace (none at
// all when grace is 0), and returns how long it waited.
func waitForTurn(ctx context.Context, stopped []chan struct{}, prereqs []int, grace time.Duration) time.Duration {
	if grace <= 0 {
		return 0
	}
	start := time.Now()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	for _, j := range prereqs {
		select {
		case <-stopped[j]:
		case <-timer.C:
			return time.Since(start)
		case <-ctx.Done():
			return time.Since(start)
		}
	}
	return time.Since(start)
}

// stopContainer is the kubelet's killContainer after the Killing event:
// the preStop hook of c (nil: none) within grace (none when grace is 0),
// then its turn in the pod's termination order (turn, nil: none) within
// the grace left, then the stop signal with the grace left, at least 2 s.
func (w *worker) stopContainer(ctx context.Context, pod *v1.Pod, c *v1.Container, name, id string, t prober.Target, grace time.Duration, turn func(time.Duration) time.Duration) {
	if c != nil && grace > 0 {
		grace = w.hooks.PreStop(ctx, pod, c, id, t, grace)
	}
	if turn != nil && grace > 0 {
		grace -= turn(grace)
	}
	if ctx.Err() != nil {
		// Cut short (a shorter grace): no stop signal now; the next pass
		// runs preStop and stops again, as the kubelet's re-kill does.
		return
	}
	if err := w.rt.StopContainer(ctx, id, plan.StopGrace(grace)); err != nil && !isNotFound(err) && ctx.Err() == nil {
		w.logf("pod %s: stopping container %s: %v", podName(pod), name, err)
	}
}

// sandboxNetwork reads the sandbox's IPs for env and the downward API,
// and where hooks reach the pod.
func (w *worker) sandboxNetwork(ctx context.Context, sandboxID string) (podNetwork, prober.Target, error) {
	net := podNetwork{HostIP: w.hostIP}
	sb, err := w.rt.PodSandboxStatus(ctx, sandboxID)
	if err != nil {
		return net, prober.Target{}, fmt.Errorf("sandbox %s: %w", sandboxID, err)
	}
	net.PodIPs = sb.IPs
	if len(net.PodIPs) == 0 && sb.IP != "" {
		net.PodIPs = []string{sb.IP}
	}
	return net, prober.Target{PodIP: sb.IP, NetNS: sb.NetNSPath}, nil
}

// start pulls the image, then creates and starts one container, recording
// the outcome as the kubelet's reason cache does.
//
// targetID, for an ephemeral container with a targetContainerName, is the
// container whose PID namespace it joins.
func (w *worker) start(ctx, ictx context.Context, pod *v1.Pod, sandboxID string, net podNetwork, c *v1.Container, attempt uint32, targetID string, t prober.Target) {
	imageRef, ok := w.ensureImage(ictx, pod, c)
	if !ok {
		return
	}
	env, err := containerEnv(pod, c, net, w.objects, w.serviceEnv, w.allocatable)
	if err != nil {
		if !w.orphan {
			w.events.Event(pod, plan.FieldPath(pod, c.Name), v1.EventTypeWarning, EventFailed, "Error: "+err.Error())
		}
		w.startFailed(c, plan.ReasonCreateContainerConfigError, err.Error())
		return
	}
	mounts, err := volume.Mounts(c, w.volumePaths)
	if err != nil {
		w.startFailed(c, plan.ReasonCreateContainerConfigError, err.Error())
		return
	}
	labels := podLabels(pod)
	labels[runtime.LabelContainerName] = c.Name
	labels[plan.LabelContainerHash] = plan.ContainerHash(c)
	cfg := &runtime.ContainerConfig{
		Spec:               *c,
		PodSecurityContext: pod.Spec.SecurityContext,
		Attempt:            attempt,
		ImageRef:           imageRef,
		Env:                env,
		Mounts:             mounts,
		Labels:             labels,
		TargetPID:          targetID,
	}
	fp := plan.FieldPath(pod, c.Name)
	id, err := w.rt.CreateContainer(ctx, sandboxID, cfg)
	if err != nil {
		w.events.Event(pod, fp, v1.EventTypeWarning, EventFailed, "Error: "+err.Error())
		w.startFailed(c, plan.ReasonCreateContainerError, err.Error())
		return
	}
	w.attempts[c.Name] = attempt
	w.events.Event(pod, fp, v1.EventTypeNormal, EventCreated, "Created container: "+c.Name)
	if err := w.rt.StartContainer(ctx, id); err != nil {
		w.events.Event(pod, fp, v1.EventTypeWarning, EventFailed, "Error: "+err.Error())
		w.startFailed(c, plan.ReasonRunContainerError, err.Error())
		return
	}
	w.events.Event(pod, fp, v1.EventTypeNormal, EventStarted, "Started container "+c.Name)
	if err := w.hooks.PostStart(ictx, pod, c, id, t); err != nil {
		if ictx.Err() != nil && ctx.Err() == nil {
			// Cut short by the pod's deletion: the container is killed
			// with the pod, not restarted as after a failed hook.
			return
		}
		w.events.Event(pod, fp, v1.EventTypeWarning, EventFailedPostStart, "PostStartHook failed")
		w.startFailed(c, plan.ReasonPostStartHookError, err.Error())
		// As the kubelet's killContainer: Killing, then preStop within
		// the pod's grace, then the stop signal.
		w.events.Event(pod, fp, v1.EventTypeNormal, EventKilling, EventFailedPostStart)
		w.stopContainer(ictx, pod, c, c.Name, id, t, plan.ContainerGrace(pod), nil)
		return
	}
	delete(w.startErrors, c.Name)
}

// ensureImage makes the container's image present per imagePullPolicy and
// returns its ID; on failure it records ErrImagePull (with the pull
// back-off), ErrImageNeverPull or InvalidImageName.
func (w *worker) ensureImage(ctx context.Context, pod *v1.Pod, c *v1.Container) (string, bool) {
	img, err := w.rt.ImageStatus(ctx, c.Image)
	present := err == nil
	switch {
	case errors.Is(err, runtime.ErrInvalidImage):
		w.startFailed(c, plan.ReasonInvalidImageName, fmt.Sprintf("Failed to apply default image tag %q: %v", c.Image, err))
		return "", false
	case err != nil && !errors.Is(err, runtime.ErrImageNotFound):
		w.startFailed(c, plan.ReasonErrImagePull, fmt.Sprintf("checking image %q: %v", c.Image, err))
		return "", false
	}
	pull, err := image.ShouldPull(c.ImagePullPolicy, present)
	fp := plan.FieldPath(pod, c.Name)
	if errors.Is(err, image.ErrNeverPull) {
		w.events.Event(pod, fp, v1.EventTypeWarning, EventErrImageNeverPull, image.NeverPullMessage(c.Image))
		w.events.Event(pod, fp, v1.EventTypeWarning, EventFailed, "Error: "+plan.ReasonErrImageNeverPull)
		w.startFailed(c, plan.ReasonErrImageNeverPull, image.NeverPullMessage(c.Image))
		return "", false
	}
	if err != nil {
		w.startFailed(c, plan.ReasonErrImagePull, err.Error())
		return "", false
	}
	if !pull {
		w.events.Event(pod, fp, v1.EventTypeNormal, EventPulled, fmt.Sprintf("Container image %q already present on machine", c.Image))
		return img.ID, true
	}
	w.events.Event(pod, fp, v1.EventTypeNormal, EventPulling, fmt.Sprintf("Pulling image %q", c.Image))
	start := w.now()
	id, err := w.rt.PullImage(ctx, c.Image, nil)
	if err != nil && present && registryUnreachable(err) && ctx.Err() == nil {
		// peapod differs here on purpose: an Always pull that cannot reach
		// the registry runs the copy the node has (ARCHITECTURE.md:
		// `image: busybox` works with no network), with a warning.
		w.events.Event(pod, fp, v1.EventTypeWarning, EventPullFallback, fmt.Sprintf(
			"Could not pull image %q: %v; the registry is unreachable, using the image present on the node", c.Image, err))
		return img.ID, true
	}
	if err != nil && ctx.Err() != nil {
		return "", false // cut short by the pod's deletion: no failure to report
	}
	if err != nil {
		w.events.Event(pod, fp, v1.EventTypeWarning, EventFailed, fmt.Sprintf("Failed to pull image %q: %v", c.Image, err))
		w.events.Event(pod, fp, v1.EventTypeWarning, EventFailed, "Error: "+plan.ReasonErrImagePull)
		now := w.now()
		key := plan.PullBackoffKey(pod, c.Image)
		w.backoff = w.backoff.Apply(map[string]plan.BackoffEntry{key: w.backoff.Next(key, now, now)})
		reason := plan.ReasonErrImagePull
		if errors.Is(err, runtime.ErrInvalidImage) {
			reason = plan.ReasonInvalidImageName
		}
		w.startFailed(c, reason, fmt.Sprintf("Failed to pull image %q: %v", c.Image, err))
		return "", false
	}
	w.events.Event(pod, fp, v1.EventTypeNormal, EventPulled, fmt.Sprintf("Successfully pulled image %q in %s", c.Image, w.now().Sub(start).Round(time.Millisecond)))
	return id, true
}

// registryUnreachable reports a pull error that is not the registry's
// answer about the image (not found, unauthorized, bad name): the registry
// could not be asked at all.
func registryUnreachable(err error) bool {
	return !errors.Is(err, runtime.ErrImageNotFound) && !errors.Is(err, image.ErrUnauthorized) &&
		!errors.Is(err, runtime.ErrInvalidImage)
}

func (w *worker) startFailed(c *v1.Container, reason, msg string) {
	w.logf("container %s: %s: %s", c.Name, reason, msg)
	w.startErrors[c.Name] = plan.StartError{Reason: reason, Message: msg, At: w.now()}
}

func specOf(pod *v1.Pod, name string) *v1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	for i := range pod.Spec.EphemeralContainers {
		if pod.Spec.EphemeralContainers[i].Name == name {
			c := v1.Container(pod.Spec.EphemeralContainers[i].EphemeralContainerCommon)
			return &c
		}
	}
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, runtime.ErrNotFound) }

// removePodDir tears down the pod's volumes, then removes its directory
// (logs included). It refuses to remove anything still mounted.
func removePodDir(ctx context.Context, vm *volume.Manager, dir string) error {
	if err := vm.TearDown(ctx, dir); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	return nil
}
