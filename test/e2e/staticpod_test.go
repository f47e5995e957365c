package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// agentEnv is one `peapod agent` on a fresh data dir with its own bridge,
// subnet, cgroup parent and port, running the static pods of manifests.
type agentEnv struct {
	t         *testing.T
	dir       string
	manifests string
	dataDir   string
	port      int
	args      []string
	// bin is the peapod binary the agent runs (default peapodBin).
	bin string

	mu  sync.Mutex
	cmd *exec.Cmd
	log *bytes.Buffer
}

// agentTestCIDR is a pod subnet unique to this test process and n
// (10.<180..229>.<n>.0/24, the second octet from the PID), so that
// concurrent `go test` processes on the host never share one.
func agentTestCIDR(n int32) string {
	return fmt.Sprintf("10.%d.%d.0/24", 180+os.Getpid()%50, n%250)
}

func agentFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// agentNewEnv imports busybox, starts the agent, and registers a cleanup
// that removes every manifest, waits for the pods to be gone, stops the
// agent and checks that nothing is left on the host.
func agentNewEnv(t *testing.T) *agentEnv { return agentNewEnvBin(t, peapodBin) }

// agentNewEnvBin is agentNewEnv with the agent run from binary bin.
func agentNewEnvBin(t *testing.T, bin string) *agentEnv {
	t.Helper()
	n := runtimeSubnetSeq.Add(1)
	dir, err := os.MkdirTemp("", "peapod-agent-")
	if err != nil {
		t.Fatal(err)
	}
	e := &agentEnv{t: t, dir: dir, manifests: filepath.Join(dir, "manifests"), dataDir: filepath.Join(dir, "data"), port: agentFreePort(t), bin: bin}
	os.MkdirAll(e.manifests, 0o755)
	os.MkdirAll(e.dataDir, 0o755)
	tag := fmt.Sprintf("%d%d", os.Getpid()%1000, n)
	bridge, cidr, cgroup := "ppag"+tag, agentTestCIDR(n), "peapod-agent-"+tag
	check := runtimeLeakCheck(t, e.dataDir)
	run(t, peapodBin, "image", "import", "--data-dir", e.dataDir, busyboxImage(t))
	e.args = []string{"agent", "--pod-manifest-path", e.manifests, "--data-dir", e.dataDir,
		"--port", fmt.Sprint(e.port), "--node-name", "node1",
		"--bridge-name", bridge, "--pod-cidr", cidr, "--cgroup-parent", cgroup}
	e.start()
	t.Cleanup(func() {
		ents, _ := os.ReadDir(e.manifests)
		for _, ent := range ents {
			os.Remove(filepath.Join(e.manifests, ent.Name()))
		}
		e.waitFor("every pod gone", 60*time.Second, func(pods []v1.Pod) bool {
			sbs, _ := os.ReadDir(filepath.Join(e.dataDir, "runtime", "sandboxes"))
			return len(pods) == 0 && len(sbs) == 0
		})
		e.stop(syscall.SIGTERM)
		check()
		if t.Failed() {
			t.Logf("agent log:\n%s", e.logs())
		}
		if pods, _ := os.ReadDir(filepath.Join(e.dataDir, "pods")); len(pods) != 0 {
			t.Errorf("pod directories left: %v", pods)
		}
		os.RemoveAll(dir)
	})
	return e
}

func (e *agentEnv) start() {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.log == nil {
		e.log = &bytes.Buffer{}
	}
	cmd := exec.Command(e.bin, e.args...)
	cmd.Stdout, cmd.Stderr = &lockedWriter{mu: &e.mu, w: e.log}, &lockedWriter{mu: &e.mu, w: e.log}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.cmd = cmd
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", e.port)); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("agent did not serve /healthz:\n%s", e.log)
}

// stop sends sig to the agent and waits for it to exit.
func (e *agentEnv) stop(sig syscall.Signal) {
	e.mu.Lock()
	cmd := e.cmd
	e.cmd = nil
	e.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	cmd.Wait()
}

func (e *agentEnv) logs() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.log.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (e *agentEnv) write(name, manifest string) {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.manifests, name), []byte(manifest), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *agentEnv) pods() ([]v1.Pod, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/pods", e.port))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var list v1.PodList
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// waitFor polls /pods until cond holds.
func (e *agentEnv) waitFor(what string, timeout time.Duration, cond func([]v1.Pod) bool) []v1.Pod {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var pods []v1.Pod
	for {
		p, err := e.pods()
		if err == nil {
			pods = p
			if cond(pods) {
				return pods
			}
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(pods, "", "  ")
			e.t.Fatalf("timed out waiting for %s; pods:\n%s", what, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitPod waits until the pod named name satisfies cond and returns it.
func (e *agentEnv) waitPod(name string, what string, timeout time.Duration, cond func(*v1.Pod) bool) *v1.Pod {
	e.t.Helper()
	var found *v1.Pod
	e.waitFor(name+": "+what, timeout, func(pods []v1.Pod) bool {
		for i := range pods {
			if pods[i].Name == name && cond(&pods[i]) {
				found = &pods[i]
				return true
			}
		}
		return false
	})
	return found
}

func agentPhase(phase v1.PodPhase) func(*v1.Pod) bool {
	return func(p *v1.Pod) bool { return p.Status.Phase == phase }
}

func agentContainer(p *v1.Pod, name string) *v1.ContainerStatus {
	for _, list := range [][]v1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

func agentWaiting(container, reason string) func(*v1.Pod) bool {
	return func(p *v1.Pod) bool {
		c := agentContainer(p, container)
		return c != nil && c.State.Waiting != nil && c.State.Waiting.Reason == reason
	}
}

// logLines reads a container's CRI log and returns the message lines.
func (e *agentEnv) logLines(p *v1.Pod, container string, attempt int) []string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dataDir, "pods", fmt.Sprintf("%s_%s_%s", p.Namespace, p.Name, p.UID), container, fmt.Sprintf("%d.log", attempt)))
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if f := strings.SplitN(l, " ", 4); len(f) == 4 {
			out = append(out, f[3])
		}
	}
	return out
}

// containerPID is the host PID of a container's process (runc state).
func (e *agentEnv) containerPID(cs *v1.ContainerStatus) int {
	e.t.Helper()
	id := strings.TrimPrefix(cs.ContainerID, "peapod://")
	out := run(e.t, "runc", "--root", filepath.Join(e.dataDir, "runtime", "runc"), "state", id)
	var st struct{ Pid int }
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Pid == 0 {
		e.t.Fatalf("runc state %s: %v %s", id, err, out)
	}
	return st.Pid
}

const agentTwinsPod = `apiVersion: v1
kind: Pod
metadata: {name: twins}
spec:
  terminationGracePeriodSeconds: 2
  volumes: [{name: work, emptyDir: {}}]
  initContainers:
  - name: first
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'test ! -e /work/order && sleep 1 && echo first >> /work/order']
    volumeMounts: [{name: work, mountPath: /work}]
  - name: second
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'grep -q first /work/order && echo second >> /work/order']
    volumeMounts: [{name: work, mountPath: /work}]
  containers:
  - name: server
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'echo "order $(cat /work/order | tr "\n" " ")"; echo "host $(hostname)"; echo "ipc $(readlink /proc/self/ns/ipc)"; echo hello-from-server > /tmp/index.html; exec httpd -f -p 127.0.0.1:8080 -h /tmp']
    volumeMounts: [{name: work, mountPath: /work}]
  - name: client
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'echo "host $(hostname)"; echo "ipc $(readlink /proc/self/ns/ipc)"; while true; do echo "got $(wget -qO- http://127.0.0.1:8080/)"; sleep 0.5; done']
`

func agentSimplePod(name, policy, image, pullPolicy, script string) string {
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":%q},"spec":{"restartPolicy":%q,"terminationGracePeriodSeconds":2,
"containers":[{"name":"c","image":%q,"imagePullPolicy":%q,"command":["sh","-c",%q]}]}}`, name, policy, image, pullPolicy, script)
}

// TestStaticPods runs issue 3's pod-level cases on one agent, then kills
// the agent with SIGKILL and checks that a new one adopts the pods.
func TestStaticPods(t *testing.T) {
	e := agentNewEnv(t)
	e.write("twins.yaml", agentTwinsPod)
	e.write("ok.json", agentSimplePod("ok", "Never", "busybox", "IfNotPresent", "echo done"))
	e.write("fail.json", agentSimplePod("fail", "Never", "busybox", "IfNotPresent", "exit 1"))
	e.write("initfail.yaml", `apiVersion: v1
kind: Pod
metadata: {name: initfail}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 2
  initContainers: [{name: init, image: busybox, imagePullPolicy: IfNotPresent, command: [sh, -c, 'exit 3']}]
  containers: [{name: app, image: busybox, imagePullPolicy: IfNotPresent, command: [sh, -c, 'echo must not run']}]
`)
	e.write("pull.json", agentSimplePod("pull", "Always", "127.0.0.1:1/nope:1", "IfNotPresent", "true"))
	e.write("neverpull.json", agentSimplePod("neverpull", "Always", "nope:2", "Never", "true"))
	e.write("nocmd.yaml", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"nocmd"},"spec":{"restartPolicy":"Never",
"containers":[{"name":"c","image":"busybox","imagePullPolicy":"IfNotPresent","command":["/no/such/cmd"]}]}}`)

	hostDir := filepath.Join(e.dir, "host", "shared")
	e.write("vols.yaml", fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: vols}
spec:
  terminationGracePeriodSeconds: 2
  volumes:
  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 8Mi}}
  - {name: host, hostPath: {path: %s, type: DirectoryOrCreate}}
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'grep " /mem " /proc/mounts; echo from-pod > /host/f; sleep 3600']
    volumeMounts: [{name: mem, mountPath: /mem}, {name: host, mountPath: /host}]
`, hostDir))
	e.write("crash.json", agentSimplePod("crash", "Always", "busybox", "IfNotPresent", "echo crash; exit 2"))
	e.write("phoenix.yaml", `apiVersion: v1
kind: Pod
metadata: {name: phoenix}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{name: work, emptyDir: {}}]
  initContainers: [{name: init, image: busybox, imagePullPolicy: IfNotPresent, command: [sh, -c, 'echo init >> /work/runs'], volumeMounts: [{name: work, mountPath: /work}]}]
  containers: [{name: app, image: busybox, imagePullPolicy: IfNotPresent, command: [sh, -c, 'cat /work/runs; exec sleep 3600'], volumeMounts: [{name: work, mountPath: /work}]}]
`)

	const wait = 60 * time.Second // generous: the machine is shared
	twins := e.waitPod("twins-node1", "Running and Ready", wait, func(p *v1.Pod) bool {
		return p.Status.Phase == v1.PodRunning && len(p.Status.Conditions) > 0 && podReady(p)
	})

	t.Run("two containers share localhost, hostname and IPC", func(t *testing.T) {
		deadline := time.Now().Add(wait)
		for {
			if lines := e.logLines(twins, "client", 0); strings.Contains(strings.Join(lines, "\n"), "got hello-from-server") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("client never fetched the page: %v", e.logLines(twins, "client", 0))
			}
			time.Sleep(100 * time.Millisecond)
		}
		server, client := e.logLines(twins, "server", 0), e.logLines(twins, "client", 0)
		if server[1] != client[0] || server[1] != "host twins-node1" {
			t.Errorf("hostnames differ: %q vs %q", server[1], client[0])
		}
		if server[2] != client[1] || !strings.HasPrefix(server[2], "ipc ipc:[") {
			t.Errorf("IPC namespaces differ: %q vs %q", server[2], client[1])
		}
	})

	t.Run("init containers run in order before app containers", func(t *testing.T) {
		if got := e.logLines(twins, "server", 0)[0]; got != "order first second " {
			t.Errorf("server saw %q", got)
		}
		first, second := agentContainer(twins, "first"), agentContainer(twins, "second")
		if first.State.Terminated == nil || second.State.Terminated == nil || first.RestartCount != 0 || second.RestartCount != 0 {
			t.Fatalf("init statuses: %+v %+v", first, second)
		}
		if second.State.Terminated.StartedAt.Before(&first.State.Terminated.FinishedAt) {
			t.Errorf("second started before first finished")
		}
		if s := agentContainer(twins, "server"); s.State.Running.StartedAt.Before(&second.State.Terminated.FinishedAt) {
			t.Errorf("app started before init finished")
		}
	})

	t.Run("the agent API serves the pod's logs", func(t *testing.T) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/containerLogs/default/twins-node1/server?tailLines=10", e.port))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(b), "order first second") {
			t.Errorf("logs: %d %q", resp.StatusCode, b)
		}
	})

	t.Run("restartPolicy Never: exit 0 Succeeded, exit 1 Failed", func(t *testing.T) {
		ok := e.waitPod("ok-node1", "Succeeded", wait, agentPhase(v1.PodSucceeded))
		if c := agentContainer(ok, "c"); c.State.Terminated.Reason != "Completed" || c.RestartCount != 0 {
			t.Errorf("ok: %+v", c.State)
		}
		fail := e.waitPod("fail-node1", "Failed", wait, agentPhase(v1.PodFailed))
		if c := agentContainer(fail, "c"); c.State.Terminated.ExitCode != 1 || c.State.Terminated.Reason != "Error" || c.RestartCount != 0 {
			t.Errorf("fail: %+v", c.State)
		}
	})

	t.Run("failing init container under Never fails the pod", func(t *testing.T) {
		p := e.waitPod("initfail-node1", "Failed", wait, agentPhase(v1.PodFailed))
		if c := agentContainer(p, "init"); c.State.Terminated == nil || c.State.Terminated.ExitCode != 3 {
			t.Errorf("init: %+v", c.State)
		}
		if c := agentContainer(p, "app"); c.State.Waiting == nil || c.State.Waiting.Reason != "PodInitializing" {
			t.Errorf("app: %+v", c.State)
		}
	})

	t.Run("unknown image: ErrImagePull, ErrImageNeverPull", func(t *testing.T) {
		p := e.waitPod("pull-node1", "pull error", wait, func(p *v1.Pod) bool {
			return agentWaiting("c", "ErrImagePull")(p) || agentWaiting("c", "ImagePullBackOff")(p)
		})
		t.Logf("pull: %s: %s", agentContainer(p, "c").State.Waiting.Reason, agentContainer(p, "c").State.Waiting.Message)
		if w := agentContainer(p, "c").State.Waiting; p.Status.Phase != v1.PodPending || !strings.Contains(w.Message, `Failed to pull image "127.0.0.1:1/nope:1"`) ||
			(w.Reason == "ImagePullBackOff" && !strings.Contains(w.Message, "ErrImagePull: ")) {
			t.Errorf("pull: phase %s, %+v", p.Status.Phase, w)
		}
		p = e.waitPod("neverpull-node1", "ErrImageNeverPull", wait, agentWaiting("c", "ErrImageNeverPull"))
		if w := agentContainer(p, "c").State.Waiting; w.Message != `Container image "nope:2" is not present with pull policy of Never` {
			t.Errorf("never pull message %q", w.Message)
		}
	})

	t.Run("command not found: start error with the runtime's message", func(t *testing.T) {
		p := e.waitPod("nocmd-node1", "start error", wait, func(p *v1.Pod) bool {
			c := agentContainer(p, "c")
			return (c.State.Terminated != nil && c.State.Terminated.Reason == "StartError") ||
				(c.State.Waiting != nil && strings.HasSuffix(c.State.Waiting.Reason, "ContainerError"))
		})
		c := agentContainer(p, "c")
		msg := ""
		if c.State.Terminated != nil {
			msg = c.State.Terminated.Message
			if c.State.Terminated.ExitCode != 128 {
				t.Errorf("exit code %d, want 128", c.State.Terminated.ExitCode)
			}
		} else {
			msg = c.State.Waiting.Message
		}
		t.Logf("command not found: %+v", c.State)
		if !strings.Contains(msg, "/no/such/cmd") {
			t.Errorf("message %q does not name the command", msg)
		}
		if p := e.waitPod("nocmd-node1", "Failed", wait, agentPhase(v1.PodFailed)); p == nil {
			t.Error("not Failed")
		}
	})

	t.Run("emptyDir Memory is a tmpfs, hostPath is the host's", func(t *testing.T) {
		p := e.waitPod("vols-node1", "Running", wait, agentPhase(v1.PodRunning))
		deadline := time.Now().Add(wait)
		for {
			b, _ := os.ReadFile(filepath.Join(hostDir, "f"))
			if string(b) == "from-pod\n" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("hostPath file: %q", b)
			}
			time.Sleep(100 * time.Millisecond)
		}
		for deadline := time.Now().Add(wait); ; time.Sleep(100 * time.Millisecond) {
			l := e.logLines(p, "c", 0)
			if len(l) > 0 && strings.HasPrefix(l[0], "tmpfs /mem tmpfs") && strings.Contains(l[0], "size=8192k") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("/mem is not an 8Mi tmpfs: %q", l)
			}
		}
	})

	t.Run("restartPolicy Always: restarts, then CrashLoopBackOff", func(t *testing.T) {
		p := e.waitPod("crash-node1", "CrashLoopBackOff", wait, agentWaiting("c", "CrashLoopBackOff"))
		c := agentContainer(p, "c")
		if p.Status.Phase != v1.PodRunning || c.RestartCount < 1 || c.LastTerminationState.Terminated == nil || c.LastTerminationState.Terminated.ExitCode != 2 {
			t.Errorf("status: phase %s, %+v", p.Status.Phase, c)
		}
		// The window depends on how many restarts happened by now: 10s, 20s, 40s...
		want := regexp.MustCompile(`^back-off (10s|20s|40s|1m20s|2m40s) restarting failed container=c pod=crash-node1_default\(` + string(p.UID) + `\)$`)
		if !want.MatchString(c.State.Waiting.Message) {
			t.Errorf("message %q, want %s", c.State.Waiting.Message, want)
		}
	})

	t.Run("dead sandbox: recreated, init containers run again", func(t *testing.T) {
		p := e.waitPod("phoenix-node1", "Running", wait, agentPhase(v1.PodRunning))
		oldIP := p.Status.PodIP
		infra := agentInfraOf(t, e.containerPID(agentContainer(p, "app")))
		syscall.Kill(infra, syscall.SIGKILL)
		p = e.waitPod("phoenix-node1", "running again in a new sandbox", wait, func(p *v1.Pod) bool {
			app := agentContainer(p, "app")
			return app.RestartCount == 1 && app.State.Running != nil && agentContainer(p, "init").RestartCount == 1
		})
		for deadline := time.Now().Add(wait); ; time.Sleep(100 * time.Millisecond) {
			l := e.logLines(p, "app", 1)
			if strings.Join(l, ",") == "init,init" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("app saw %q: init should have run twice into the same emptyDir", l)
			}
		}
		t.Logf("pod IP %s -> %s", oldIP, p.Status.PodIP)
	})

	t.Run("agent SIGKILLed and restarted adopts running pods", func(t *testing.T) {
		before := map[string]int{}
		for _, c := range []string{"server", "client"} {
			before[c] = e.containerPID(agentContainer(twins, c))
		}
		linesBefore := len(e.logLines(twins, "client", 0))
		e.stop(syscall.SIGKILL)
		time.Sleep(time.Second)
		e.start()
		p := e.waitPod("twins-node1", "Running after restart", wait, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning && podReady(p) })
		for _, c := range []string{"server", "client"} {
			cs := agentContainer(p, c)
			if pid := e.containerPID(cs); pid != before[c] || cs.RestartCount != 0 {
				t.Errorf("%s: pid %d (was %d), restartCount %d", c, pid, before[c], cs.RestartCount)
			}
		}
		for _, c := range []string{"first", "second"} {
			if cs := agentContainer(p, c); cs.RestartCount != 0 || cs.State.Terminated == nil {
				t.Errorf("init %s re-run: %+v", c, cs)
			}
		}
		for deadline := time.Now().Add(wait); ; time.Sleep(100 * time.Millisecond) {
			after := len(e.logLines(twins, "client", 0))
			if after > linesBefore+1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("client log did not continue: %d lines before, %d after", linesBefore, after)
			}
		}
		// Succeeded/Failed pods stay as they were.
		e.waitPod("ok-node1", "still Succeeded", wait, agentPhase(v1.PodSucceeded))
		e.waitPod("fail-node1", "still Failed", wait, agentPhase(v1.PodFailed))
	})

	t.Run("a manifest removed while the agent is down: its pod is cleaned up at start", func(t *testing.T) {
		ok := e.waitPod("fail-node1", "Failed", wait, agentPhase(v1.PodFailed))
		e.stop(syscall.SIGTERM)
		os.Remove(filepath.Join(e.manifests, "fail.json"))
		e.start()
		dir := filepath.Join(e.dataDir, "pods", fmt.Sprintf("default_fail-node1_%s", ok.UID))
		deadline := time.Now().Add(wait)
		for {
			_, err := os.Stat(dir)
			pods, _ := e.pods()
			gone := os.IsNotExist(err)
			for _, p := range pods {
				gone = gone && p.Name != "fail-node1"
			}
			if gone {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("pod of the removed manifest not cleaned up (dir: %v)", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("a changed manifest replaces the pod", func(t *testing.T) {
		e.write("edit.json", agentSimplePod("edit", "Always", "busybox", "IfNotPresent", "echo v1; exec sleep 3600"))
		v1pod := e.waitPod("edit-node1", "v1 Running", wait, agentPhase(v1.PodRunning))
		e.write("edit.json", agentSimplePod("edit", "Always", "busybox", "IfNotPresent", "echo v2; exec sleep 3600"))
		v2pod := e.waitPod("edit-node1", "v2 Running", wait, func(p *v1.Pod) bool {
			return p.UID != v1pod.UID && p.Status.Phase == v1.PodRunning
		})
		for deadline := time.Now().Add(wait); ; time.Sleep(100 * time.Millisecond) {
			l := e.logLines(v2pod, "c", 0)
			if len(l) > 0 && l[0] == "v2" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("new pod logged %q", l)
			}
		}
		if _, err := os.Stat(filepath.Join(e.dataDir, "pods", fmt.Sprintf("default_edit-node1_%s", v1pod.UID))); !os.IsNotExist(err) {
			t.Errorf("old pod directory left: %v", err)
		}
	})

	t.Run("removing the manifest stops and removes the pod", func(t *testing.T) {
		os.Remove(filepath.Join(e.manifests, "twins.yaml"))
		e.waitFor("twins gone", wait, func(pods []v1.Pod) bool {
			for _, p := range pods {
				if p.Name == "twins-node1" {
					return false
				}
			}
			return true
		})
		if _, err := os.Stat(filepath.Join(e.dataDir, "pods", fmt.Sprintf("default_twins-node1_%s", twins.UID))); !os.IsNotExist(err) {
			t.Errorf("pod directory left: %v", err)
		}
		out, _ := exec.Command("runc", "--root", filepath.Join(e.dataDir, "runtime", "runc"), "list", "-q").Output()
		for _, c := range []string{"server", "client"} {
			if id := strings.TrimPrefix(agentContainer(twins, c).ContainerID, "peapod://"); strings.Contains(string(out), id) {
				t.Errorf("container %s still known to runc", c)
			}
		}
	})
}

func podReady(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

// agentInfraOf finds the infra process (catatonit) sharing pid's network
// namespace.
func agentInfraOf(t *testing.T, pid int) int {
	t.Helper()
	netns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		p, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		if !strings.Contains(string(cmd), "catatonit") || strings.Contains(string(cmd), "conmon") {
			continue
		}
		if ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", p)); ns == netns {
			return p
		}
	}
	t.Fatalf("no infra process in %s", netns)
	return 0
}
