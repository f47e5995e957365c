package plan

import (
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peapod/peapod/internal/runtime"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// testPod builds a pod with init containers and containers named by the
// arguments and the given restart policy.
func testPod(policy v1.RestartPolicy, inits []string, apps ...string) *v1.Pod {
	grace := int64(30)
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "uid1"},
		Spec:       v1.PodSpec{RestartPolicy: policy, TerminationGracePeriodSeconds: &grace},
	}
	for _, n := range inits {
		p.Spec.InitContainers = append(p.Spec.InitContainers, v1.Container{Name: n, Image: "busybox"})
	}
	for _, n := range apps {
		p.Spec.Containers = append(p.Spec.Containers, v1.Container{Name: n, Image: "busybox"})
	}
	return p
}

func readySandbox(id string, attempt uint32) *runtime.SandboxStatus {
	return &runtime.SandboxStatus{ID: id, Attempt: attempt, State: runtime.SandboxReady, IP: "10.0.0.5",
		IPs: []string{"10.0.0.5"}, CreatedAt: t0.Add(time.Duration(attempt) * time.Second)}
}

func deadSandbox(id string, attempt uint32) *runtime.SandboxStatus {
	s := readySandbox(id, attempt)
	s.State = runtime.SandboxNotReady
	return s
}

var ctrSeq int

// ctr builds a container instance: state "running", "created", "unknown",
// or "exit:<code>"; created at t0+at seconds.
func ctr(name string, attempt uint32, state string, at int) *runtime.ContainerStatus {
	ctrSeq++
	c := &runtime.ContainerStatus{
		ID: fmt.Sprintf("%s-%d-%d", name, attempt, ctrSeq), SandboxID: "sb1", Name: name, Attempt: attempt,
		Image: "busybox", ImageRef: "sha256:abc",
		CreatedAt: t0.Add(time.Duration(at) * time.Second),
		StartedAt: t0.Add(time.Duration(at) * time.Second),
	}
	switch state {
	case "running":
		c.State = runtime.ContainerRunning
	case "created":
		c.State = runtime.ContainerCreated
		c.StartedAt = time.Time{}
	case "unknown":
		c.State = runtime.ContainerUnknown
	default:
		var code int32
		if _, err := fmt.Sscanf(state, "exit:%d", &code); err != nil {
			panic(state)
		}
		c.State = runtime.ContainerExited
		c.ExitCode = code
		c.Reason = "Completed"
		if code != 0 {
			c.Reason = "Error"
		}
		c.FinishedAt = c.StartedAt.Add(time.Second)
	}
	return c
}

func obs(sbs []*runtime.SandboxStatus, cs ...*runtime.ContainerStatus) *Observed {
	return &Observed{Sandboxes: sbs, Containers: cs, HostIP: "192.0.2.10"}
}

func sb(s ...*runtime.SandboxStatus) []*runtime.SandboxStatus { return s }

// summary renders a plan compactly for table comparisons.
func summary(p Plan) string {
	out := ""
	add := func(s string) {
		if out != "" {
			out += " "
		}
		out += s
	}
	for _, k := range p.Kill {
		add(fmt.Sprintf("kill:%s/%s", k.Name, k.Grace))
	}
	for _, s := range p.StopSandboxes {
		add("stop-sandbox:" + s)
	}
	if len(p.RemoveContainers) > 0 {
		add(fmt.Sprintf("remove:%d", len(p.RemoveContainers)))
	}
	for _, s := range p.RemoveSandboxes {
		add("remove-sandbox:" + s)
	}
	if p.CreateSandbox {
		add(fmt.Sprintf("create-sandbox:%d", p.SandboxAttempt))
	}
	for _, s := range p.StartInits {
		add(fmt.Sprintf("init:%s#%d", s.Name, s.Attempt))
	}
	for _, s := range p.Start {
		add(fmt.Sprintf("start:%s#%d", s.Name, s.Attempt))
	}
	for n, e := range p.StartErrors {
		add("wait:" + n + "=" + e.Reason)
	}
	if p.Terminated {
		add("terminated")
	}
	if out == "" {
		return "-"
	}
	return out
}
