package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// TestKubectlDebug: ephemeral containers through the real kubectl debug.
// The debugger joins the target container's PID namespace (it sees its
// processes), runs once and is never restarted, shows in
// ephemeralContainerStatuses, and `kubectl debug -i` attaches to it; the
// pod and its app container are untouched.
func TestKubectlDebug(t *testing.T) {
	s, cs := serverWithAgentStart(t, "ppdb", "db-node")
	clusterApply(t, s, "web", `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
`)
	volumesRunning(t, cs, "web")

	// Non-interactive: kubectl adds the container and returns.
	s.kubectl("debug", "web", "--image=busybox", "--image-pull-policy=IfNotPresent", "--container=dbg", "--target=app",
		"--", "sh", "-c", "ps -o pid,args")
	ephemeral := func(p *v1.Pod, name string) *v1.ContainerStatus {
		for i := range p.Status.EphemeralContainerStatuses {
			if p.Status.EphemeralContainerStatuses[i].Name == name {
				return &p.Status.EphemeralContainerStatuses[i]
			}
		}
		return nil
	}
	p := clusterWaitPod(t, cs, "web", "debugger done", 60*time.Second, func(p *v1.Pod) bool {
		st := ephemeral(p, "dbg")
		return st != nil && st.State.Terminated != nil
	})
	if st := ephemeral(p, "dbg"); st.State.Terminated.ExitCode != 0 || st.RestartCount != 0 {
		t.Errorf("debugger status %+v", st)
	}
	// The target's PID namespace: its sleep is PID 1 there.
	if out := s.kubectl("logs", "web", "-c", "dbg"); !strings.Contains(out, "1 sleep 3600") {
		t.Errorf("debugger's ps does not show the target's processes:\n%s", out)
	}
	time.Sleep(2 * time.Second) // a restart would show by now
	p = clusterWaitPod(t, cs, "web", "Running", 10*time.Second, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	if st := ephemeral(p, "dbg"); st == nil || st.State.Terminated == nil || st.RestartCount != 0 || p.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Errorf("after the debugger exited: %+v %+v", st, p.Status.ContainerStatuses)
	}

	// Interactive: kubectl debug -i attaches to the new container's stdin.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := s.kubectlCmd(ctx, "debug", "-i", "web", "--image=busybox", "--image-pull-policy=IfNotPresent", "--container=dbg2", "--", "sh")
	cmd.Stdin = strings.NewReader("echo from-the-debugger $((6*7))\nexit 0\n")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "from-the-debugger 42") {
		t.Errorf("kubectl debug -i: %v\n%s", err, out)
	}

	// Node debugging with the sysadmin profile: a privileged pod with the
	// host's PID, network and IPC namespaces and / at /host. Privileged
	// gets the capabilities the agent holds (containerd's
	// WithAllCurrentCapabilities); asking runc for more failed every start
	// on a host without CAP_SYS_RESOURCE.
	hostInit, _ := os.ReadFile("/proc/1/comm")
	out, err = s.kubectlCmd(ctx, "debug", "node/db-node", "-i", "--image=busybox", "--image-pull-policy=IfNotPresent", "--profile=sysadmin",
		"--", "sh", "-c", "cat /proc/1/comm; ls /host/etc/hostname; echo caps-done").CombinedOutput()
	if err != nil || !strings.Contains(string(out), string(hostInit)+"/host/etc/hostname\ncaps-done") {
		t.Errorf("kubectl debug node/db-node --profile=sysadmin: %v\n%s", err, out)
	}

	// A target that does not exist is refused by the API with its field.
	if out, err := s.kubectlCmd(context.Background(), "debug", "web", "--image=busybox", "--container=dbg3", "--target=nope", "--", "true").CombinedOutput(); err == nil ||
		!strings.Contains(string(out), `spec.ephemeralContainers[2].targetContainerName: Not found: "nope"`) {
		t.Errorf("a debugger with an unknown target: %v\n%s", err, out)
	}
}
