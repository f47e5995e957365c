// Package hooks runs the lifecycle hooks of containers (SEMANTICS.md §5):
// postStart right after a container starts, preStop before its stop
// signal, each an exec command, an HTTP GET or a sleep.
package hooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/agent/plan"
	"github.com/peapod/peapod/internal/agent/prober"
)

// UserAgent is what httpGet hooks send.
const UserAgent = "kube-lifecycle/1.33"

// Recorder receives the FailedPreStopHook events.
type Recorder interface {
	Event(pod *v1.Pod, fieldPath, eventType, reason, message string)
}

// Runner runs hook handlers.
type Runner struct {
	Exec   prober.Execer
	Events Recorder
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Sleep waits d or until ctx ends (default a timer).
	Sleep func(ctx context.Context, d time.Duration) error
	// Logf logs what events leave out (a failed preStop's error); nil:
	// nothing.
	Logf func(format string, args ...any)
}

// ErrSleepCancelled is a sleep hook cut short.
var ErrSleepCancelled = errors.New("container terminated before sleep hook finished")

// Run runs handler h for container c (ID id) of pod, reached through t.
// Exec hooks have no timeout of their own; ctx bounds them. A failure's
// text is the kubelet's message for it (lifecycle handlerRunner.Run),
// which a failed postStart leaves as the container's waiting message.
func (r *Runner) Run(ctx context.Context, pod *v1.Pod, h *v1.LifecycleHandler, c *v1.Container, id string, t prober.Target) error {
	switch {
	case h.Exec != nil:
		res, err := r.Exec.ExecSync(ctx, id, h.Exec.Command, 0)
		var output []byte
		if res != nil {
			// RunInContainer's output: stdout, then stderr.
			output = append(append(output, res.Stdout...), res.Stderr...)
			if err == nil && res.ExitCode != 0 {
				// The CRI client's error for a non-zero exit: stderr only.
				err = fmt.Errorf("command '%s' exited with %d: %s", strings.Join(h.Exec.Command, " "), res.ExitCode, res.Stderr)
			}
		}
		if err != nil {
			return fmt.Errorf("Exec lifecycle hook (%v) for Container %q in Pod %q failed - error: %w, message: %q",
				h.Exec.Command, c.Name, plan.PodDesc(pod), err, string(output))
		}
		return nil
	case h.HTTPGet != nil:
		if err := r.httpGet(ctx, pod, h.HTTPGet, c, t); err != nil {
			return fmt.Errorf("HTTP lifecycle hook (%s) for Container %q in Pod %q failed - error: %w", h.HTTPGet.Path, c.Name, plan.PodDesc(pod), err)
		}
		return nil
	case h.Sleep != nil:
		if err := r.sleep(ctx, time.Duration(h.Sleep.Seconds)*time.Second); err != nil {
			return fmt.Errorf("Sleep lifecycle hook (%d) for Container %q in Pod %q failed - error: %w", h.Sleep.Seconds, c.Name, plan.PodDesc(pod), err)
		}
		return nil
	}
	return fmt.Errorf("Cannot run handler: invalid handler: %v", h)
}

// httpGet sends the hook's request: any HTTP response is success, only
// transport errors fail. An HTTPS request answered in plain HTTP is
// retried over HTTP (without Authorization) and, if that gets a response,
// succeeds with a Warning LifecycleHTTPFallback event on the pod, as the
// kubelet does for endpoints that predate hooks honouring the scheme.
func (r *Runner) httpGet(ctx context.Context, pod *v1.Pod, g *v1.HTTPGetAction, c *v1.Container, t prober.Target) error {
	req, err := prober.HTTPRequest(ctx, g, c, t.PodIP, UserAgent)
	if err != nil {
		return err
	}
	client := prober.HTTPClient(t, 0)
	res, err := client.Do(req)
	discardBody(res)
	if !isHTTPResponseError(err) {
		return err
	}
	retry := req.Clone(ctx)
	retry.URL.Scheme = "http"
	retry.Header.Del("Authorization")
	res, herr := client.Do(retry)
	discardBody(res)
	if herr != nil {
		return err
	}
	if r.Events != nil && pod != nil {
		r.Events.Event(pod, "", v1.EventTypeWarning, "LifecycleHTTPFallback",
			fmt.Sprintf("request to HTTPS lifecycle hook %s got HTTP response, retry with HTTP succeeded", retry.URL.Host))
	}
	return nil
}

// isHTTPResponseError is Go's error for an HTTPS request that got a plain
// HTTP answer (the kubelet's test, word for word).
func isHTTPResponseError(err error) bool {
	var ue *url.Error
	return err != nil && errors.As(err, &ue) && strings.Contains(ue.Err.Error(), "server gave HTTP response to HTTPS client")
}

func discardBody(res *http.Response) {
	if res == nil {
		return
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 10*1024))
	res.Body.Close()
}

func (r *Runner) sleep(ctx context.Context, d time.Duration) error {
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ErrSleepCancelled
	case <-t.C:
		return nil
	}
}

// PostStart runs c's postStart hook, if any, to completion.
func (r *Runner) PostStart(ctx context.Context, pod *v1.Pod, c *v1.Container, id string, t prober.Target) error {
	if c.Lifecycle == nil || c.Lifecycle.PostStart == nil {
		return nil
	}
	return r.Run(ctx, pod, c.Lifecycle.PostStart, c, id, t)
}

// PreStop runs c's preStop hook, if any, for at most grace and returns the
// grace left for the stop signal: grace minus the whole seconds the hook
// took (the caller gives the stop signal at least 2 s whatever is left).
// A failed hook is reported as a Warning FailedPreStopHook event; the
// container is stopped anyway.
func (r *Runner) PreStop(ctx context.Context, pod *v1.Pod, c *v1.Container, id string, t prober.Target, grace time.Duration) time.Duration {
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || grace <= 0 {
		return grace
	}
	now := r.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	hctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(hctx, pod, c.Lifecycle.PreStop, c, id, t) }()
	select {
	case err := <-done:
		// The event does not carry the hook's output or error (which may
		// hold secrets), as the kubelet's executePreStopHook; Logf does.
		if err != nil {
			if r.Logf != nil {
				r.Logf("pod %s: container %s: preStop hook failed: %v", plan.PodDesc(pod), c.Name, err)
			}
			if r.Events != nil {
				r.Events.Event(pod, plan.FieldPath(pod, c.Name), v1.EventTypeWarning, "FailedPreStopHook", "PreStopHook failed")
			}
		}
	case <-hctx.Done():
	}
	return Remaining(grace, now().Sub(start))
}

// Remaining is the grace left after a hook that took elapsed: whole
// seconds are subtracted (kubelet executePreStopHook), possibly to 0 or
// less.
func Remaining(grace, elapsed time.Duration) time.Duration {
	return grace - elapsed.Truncate(time.Second)
}
