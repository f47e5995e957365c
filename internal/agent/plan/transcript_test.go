package plan

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peapod/peapod/internal/runtime"
)

var update = flag.Bool("update", false, "rewrite testdata/*.txt with the actual transcripts")

// TestTranscripts replays testdata/*.txt: lines starting with "> " are
// commands against a simulated runtime, the lines after them what the
// planner and the status generator made of it. Run with -update to rewrite.
//
// Commands:
//
//	pod <policy> init=<a,b> apps=<c,d>   start a pod
//	sync                                 plan, apply the plan, print plan and status
//	exit <container> <code>              the running instance exits
//	sandbox-dies                         the sandbox stops (containers with it)
//	advance <duration>                   move the clock
//	delete <grace seconds>               set deletionTimestamp
func TestTranscripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no transcripts")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			s := &sim{now: t0, backoff: BackoffState{}, startErrors: map[string]StartError{}}
			for _, line := range strings.Split(string(b), "\n") {
				if !strings.HasPrefix(line, "> ") {
					continue
				}
				out.WriteString(line + "\n")
				res, err := s.do(strings.Fields(line[2:]))
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				out.WriteString(res)
				out.WriteString("\n")
			}
			if *update {
				os.WriteFile(f, []byte(out.String()), 0o644)
				return
			}
			if out.String() != string(b) {
				t.Errorf("transcript differs (run with -update and diff):\n%s", out.String())
			}
		})
	}
}

// sim is a tiny runtime driven by plans.
type sim struct {
	now         time.Time
	pod         *v1.Pod
	sandboxes   []*runtime.SandboxStatus
	containers  []*runtime.ContainerStatus
	backoff     BackoffState
	startErrors map[string]StartError
	last        *v1.PodStatus
	seq         int
}

func (s *sim) observed() *Observed {
	o := &Observed{HostIP: "192.0.2.10", LastStatus: s.last, StartErrors: s.startErrors}
	for _, sb := range s.sandboxes {
		c := *sb
		o.Sandboxes = append(o.Sandboxes, &c)
	}
	for _, c := range s.containers {
		cc := *c
		o.Containers = append(o.Containers, &cc)
	}
	return o
}

func (s *sim) do(args []string) (string, error) {
	switch args[0] {
	case "pod":
		var inits, apps []string
		for _, a := range args[2:] {
			k, v, _ := strings.Cut(a, "=")
			if v == "" {
				continue
			}
			if k == "init" {
				inits = strings.Split(v, ",")
			} else {
				apps = strings.Split(v, ",")
			}
		}
		s.pod = testPod(v1.RestartPolicy(args[1]), inits, apps...)
		return "ok", nil
	case "advance":
		d, err := time.ParseDuration(args[1])
		if err != nil {
			return "", err
		}
		s.now = s.now.Add(d)
		return fmt.Sprintf("t=%s", s.now.Sub(t0)), nil
	case "exit":
		code, _ := strconv.Atoi(args[2])
		for _, c := range s.containers {
			if c.Name == args[1] && c.State == runtime.ContainerRunning {
				c.State, c.ExitCode, c.FinishedAt = runtime.ContainerExited, int32(code), s.now
				c.Reason = map[bool]string{true: "Completed", false: "Error"}[code == 0]
				return "ok", nil
			}
		}
		return "", fmt.Errorf("%s is not running", args[1])
	case "sandbox-dies":
		for _, sb := range s.sandboxes {
			s.stopSandbox(sb.ID)
		}
		return "ok", nil
	case "delete":
		g, _ := strconv.ParseInt(args[1], 10, 64)
		ts := metav1.NewTime(s.now)
		s.pod.DeletionTimestamp, s.pod.DeletionGracePeriodSeconds = &ts, &g
		return "ok", nil
	case "sync":
		p := Compute(s.pod, s.observed(), s.now, s.backoff)
		s.backoff = s.backoff.Apply(p.Backoff)
		for n, e := range p.StartErrors {
			s.startErrors[n] = e
		}
		s.apply(&p)
		st := GenerateStatus(s.pod, s.observed(), s.now)
		s.last = &st
		return "plan: " + summary(p) + "\n" + renderStatus(&st), nil
	}
	return "", fmt.Errorf("unknown command %q", args[0])
}

func (s *sim) stopSandbox(id string) {
	for _, sb := range s.sandboxes {
		if sb.ID == id {
			sb.State = runtime.SandboxNotReady
		}
	}
	for _, c := range s.containers {
		if c.SandboxID == id && c.State == runtime.ContainerRunning {
			c.State, c.ExitCode, c.Reason, c.FinishedAt = runtime.ContainerExited, 137, "Error", s.now
		}
	}
}

func (s *sim) apply(p *Plan) {
	for _, k := range p.Kill {
		for _, c := range s.containers {
			if c.ID == k.ContainerID && c.State == runtime.ContainerRunning {
				c.State, c.ExitCode, c.Reason, c.FinishedAt = runtime.ContainerExited, 143, "Error", s.now
			}
		}
	}
	for _, id := range p.StopSandboxes {
		s.stopSandbox(id)
	}
	remove := map[string]bool{}
	for _, id := range p.RemoveContainers {
		remove[id] = true
	}
	var kept []*runtime.ContainerStatus
	for _, c := range s.containers {
		if !remove[c.ID] {
			kept = append(kept, c)
		}
	}
	s.containers = kept
	sandbox := p.SandboxID
	if p.CreateSandbox {
		s.seq++
		sandbox = fmt.Sprintf("sb%d", s.seq)
		sb := readySandbox(sandbox, p.SandboxAttempt)
		sb.CreatedAt = s.now
		s.sandboxes = append(s.sandboxes, sb)
	}
	starts := p.Start
	if len(p.StartInits) > 0 {
		starts = append(append([]Start(nil), p.StartInits...), starts...)
	}
	for _, st := range starts {
		s.seq++
		s.containers = append(s.containers, &runtime.ContainerStatus{
			ID: fmt.Sprintf("%s-%d", st.Name, s.seq), SandboxID: sandbox, Name: st.Name, Attempt: st.Attempt,
			Image: "busybox", State: runtime.ContainerRunning, CreatedAt: s.now.Add(time.Duration(s.seq)), StartedAt: s.now,
		})
		delete(s.startErrors, st.Name)
	}
}

func renderState(st v1.ContainerState) string {
	switch {
	case st.Running != nil:
		return "Running"
	case st.Terminated != nil:
		return fmt.Sprintf("Terminated(%d,%s)", st.Terminated.ExitCode, st.Terminated.Reason)
	case st.Waiting != nil:
		if st.Waiting.Message != "" {
			return fmt.Sprintf("Waiting(%s: %s)", st.Waiting.Reason, st.Waiting.Message)
		}
		return fmt.Sprintf("Waiting(%s)", st.Waiting.Reason)
	}
	return "-"
}

func renderStatus(s *v1.PodStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase: %s", s.Phase)
	var conds []string
	for _, c := range s.Conditions {
		x := fmt.Sprintf("%s=%s", c.Type, c.Status)
		if c.Reason != "" {
			x += "/" + c.Reason
		}
		conds = append(conds, x)
	}
	sort.Strings(conds)
	fmt.Fprintf(&b, "\nconditions: %s", strings.Join(conds, " "))
	for _, group := range []struct {
		name string
		list []v1.ContainerStatus
	}{{"init", s.InitContainerStatuses}, {"app", s.ContainerStatuses}} {
		for _, c := range group.list {
			fmt.Fprintf(&b, "\n%s %s: %s restarts=%d ready=%v", group.name, c.Name, renderState(c.State), c.RestartCount, c.Ready)
			if c.LastTerminationState.Terminated != nil {
				fmt.Fprintf(&b, " last=%s", renderState(c.LastTerminationState))
			}
		}
	}
	return b.String()
}
