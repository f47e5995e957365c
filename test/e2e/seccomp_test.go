package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// TestSeccomp: securityContext.seccompProfile is enforced, through
// kubectl. RuntimeDefault puts the runtime's default filter on the
// container (Seccomp: 2 in /proc/1/status); a
// container with none is unconfined; a Localhost profile from
// <data-dir>/seccomp applies (here: mkdir refused); kubectl exec runs under
// the container's filter too. A pod asking for AppArmor is rejected.
func TestSeccomp(t *testing.T) {
	s, cs := serverWithAgentStart(t, "ppse", "se-node")
	dir := filepath.Join(s.dataDir, "seccomp", "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "deny-mkdir.json"),
		[]byte(`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	clusterApply(t, s, "sc", `apiVersion: v1
kind: Pod
metadata: {name: sc}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: default
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
  - name: unconfined
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
    securityContext: {seccompProfile: {type: Unconfined}}
  - name: local
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
    securityContext: {seccompProfile: {type: Localhost, localhostProfile: profiles/deny-mkdir.json}}
`)
	volumesRunning(t, cs, "sc")
	mode := func(c string) string {
		out := s.kubectl("exec", "sc", "-c", c, "--", "grep", "^Seccomp:", "/proc/1/status")
		return strings.Join(strings.Fields(out), " ")
	}
	if got := mode("default"); got != "Seccomp: 2" {
		t.Errorf("RuntimeDefault container: %q", got)
	}
	if got := mode("unconfined"); got != "Seccomp: 0" {
		t.Errorf("Unconfined container: %q", got)
	}
	if got := mode("local"); got != "Seccomp: 2" {
		t.Errorf("Localhost container: %q", got)
	}
	// kubectl exec runs under the container's filter as well.
	if out, err := volumesExec(s, "sc", "grep", "^Seccomp:", "/proc/self/status"); err != nil || !strings.Contains(out, "Seccomp:\t2") {
		t.Errorf("exec in the RuntimeDefault container: %v %q", err, out)
	}
	if out, err := s.kubectlCmd(t.Context(), "exec", "sc", "-c", "local", "--", "mkdir", "/tmp/x").CombinedOutput(); err == nil || !strings.Contains(string(out), "Operation not permitted") {
		t.Errorf("mkdir under the Localhost profile: %v %q", err, out)
	}
	if out, err := s.kubectlCmd(t.Context(), "exec", "sc", "-c", "unconfined", "--", "mkdir", "/tmp/x").CombinedOutput(); err != nil {
		t.Errorf("mkdir unconfined: %v %q", err, out)
	}

	// An AppArmor profile peapod cannot enforce: the pod is rejected at
	// admission (the kubelet's message on a host without AppArmor), not
	// run unconfined.
	clusterApply(t, s, "aa", `apiVersion: v1
kind: Pod
metadata: {name: aa}
spec:
  securityContext: {appArmorProfile: {type: RuntimeDefault}}
  containers:
  - {name: c, image: busybox, imagePullPolicy: IfNotPresent, command: ["sleep", "3600"]}
`)
	want := "Pod was rejected: Cannot enforce AppArmor: AppArmor is not enabled on the host"
	if b, _ := os.ReadFile("/sys/module/apparmor/parameters/enabled"); strings.HasPrefix(string(b), "Y") {
		want = "Pod was rejected: Cannot enforce AppArmor: peapod does not apply AppArmor profiles (use seccompProfile)"
	}
	p := clusterWaitPod(t, cs, "aa", "rejected", 30*time.Second, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	if p.Status.Reason != "AppArmor" || p.Status.Message != want {
		t.Errorf("AppArmor pod: %s %q", p.Status.Reason, p.Status.Message)
	}
}
