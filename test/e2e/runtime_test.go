package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/peapod/peapod/internal/runtime"
	"github.com/peapod/peapod/internal/runtime/runc"
)

func TestRuntimeTwoContainersShareNetworkIPCAndHostname(t *testing.T) {
	e := runtimeNewEnv(t)
	cfg := e.sandboxConfig("twins")
	cfg.HostAliases = []v1.HostAlias{{IP: "10.1.2.3", Hostnames: []string{"foo.local", "bar.local"}}}
	sb := e.runPod(cfg)
	st, err := e.d.PodSandboxStatus(context.Background(), sb)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != runtime.SandboxReady || !strings.HasPrefix(st.IP, strings.TrimSuffix(e.cfg.PodCIDR, "0/24")) {
		t.Fatalf("sandbox status: %+v", st)
	}
	server := e.start(sb, v1.Container{Name: "server", Command: []string{"sh", "-c", "mkdir -p /www && echo hello-from-server > /www/index.html && exec httpd -f -p 8080 -h /www"}})
	client := e.start(sb, v1.Container{Name: "client", Command: []string{"sh", "-c", "trap 'exit 3' TERM; sleep 3600 & wait"}})

	var body string
	for i := 0; i < 50; i++ {
		res, err := e.d.ExecSync(context.Background(), client, []string{"wget", "-q", "-O", "-", "http://127.0.0.1:8080/"}, 5*time.Second)
		if err == nil && res.ExitCode == 0 {
			body = string(res.Stdout)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.TrimSpace(body) != "hello-from-server" {
		t.Fatalf("client fetched %q over 127.0.0.1:8080", body)
	}
	for _, id := range []string{server, client} {
		if h := strings.TrimSpace(e.exec(id, "hostname")); h != "twins" {
			t.Errorf("hostname = %q", h)
		}
	}
	if a, b := e.exec(server, "readlink", "/proc/self/ns/ipc"), e.exec(client, "readlink", "/proc/self/ns/ipc"); a != b {
		t.Errorf("ipc namespaces differ: %s vs %s", a, b)
	}
	// Shared IPC also means a shared /dev/shm.
	e.exec(server, "sh", "-c", "echo shared > /dev/shm/x")
	if got := strings.TrimSpace(e.exec(client, "cat", "/dev/shm/x")); got != "shared" {
		t.Errorf("/dev/shm not shared: %q", got)
	}
	hosts := e.exec(client, "cat", "/etc/hosts")
	for _, want := range []string{"# Kubernetes-managed hosts file.\n", st.IP + "\ttwins\n", "\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n"} {
		if !strings.Contains(hosts, want) {
			t.Errorf("/etc/hosts lacks %q:\n%s", want, hosts)
		}
	}
	if got := e.exec(client, "cat", "/etc/resolv.conf"); got != "search default.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n" {
		t.Errorf("resolv.conf = %q", got)
	}
	if got := e.exec(client, "cat", "/etc/hostname"); got != "twins\n" {
		t.Errorf("/etc/hostname = %q", got)
	}
	// Without shareProcessNamespace each container's first process is PID 1.
	if got := strings.TrimSpace(e.exec(client, "cat", "/proc/1/cmdline")); !strings.HasPrefix(got, "sh") {
		t.Errorf("client PID 1 = %q", got)
	}

	// Stop with a grace period: the shell's TERM trap exits 3 at once.
	start := time.Now()
	if err := e.d.StopContainer(context.Background(), client, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	cs := e.waitExited(client, 5*time.Second)
	t.Logf("stop took %v, exit %d %s", time.Since(start), cs.ExitCode, cs.Reason)
	if cs.ExitCode != 3 || cs.Reason != "Error" || time.Since(start) > 8*time.Second {
		t.Errorf("stopped client: exit %d reason %s", cs.ExitCode, cs.Reason)
	}
	if err := e.d.RemovePodSandbox(context.Background(), sb); err != nil {
		t.Fatal(err)
	}
}

func TestRuntimeShareProcessNamespace(t *testing.T) {
	e := runtimeNewEnv(t)
	cfg := e.sandboxConfig("shared")
	cfg.ShareProcessNamespace = true
	sb := e.runPod(cfg)
	e.start(sb, v1.Container{Name: "a", Command: []string{"sleep", "3601"}})
	b := e.start(sb, runtimeSleeper("b"))
	if got := e.exec(b, "cat", "/proc/1/cmdline"); got != "/catatonit\x00-P\x00" {
		t.Errorf("PID 1 is %q, want catatonit", got)
	}
	if ps := e.exec(b, "ps", "-o", "pid,args"); !strings.Contains(ps, "sleep 3601") {
		t.Errorf("b does not see a's process:\n%s", ps)
	}

	// Private PID namespace: each container's process is PID 1.
	p := e.runPod(e.sandboxConfig("private"))
	c := e.start(p, runtimeSleeper("c"))
	if got := e.exec(c, "cat", "/proc/1/cmdline"); got != "sleep\x003600\x00" {
		t.Errorf("private PID 1 is %q", got)
	}
	if ps := e.exec(c, "ps", "-o", "pid,args"); strings.Contains(ps, "catatonit") {
		t.Errorf("private pod sees the infra:\n%s", ps)
	}
}

func TestRuntimeHostNamespaces(t *testing.T) {
	e := runtimeNewEnv(t)
	cfg := e.sandboxConfig("hostns")
	cfg.HostNetwork, cfg.HostPID, cfg.HostIPC = true, true, true
	cfg.HostAliases = []v1.HostAlias{{IP: "10.9.9.9", Hostnames: []string{"alias.host"}}}
	sb := e.runPod(cfg)
	st, _ := e.d.PodSandboxStatus(context.Background(), sb)
	if st.NetNSPath != "" || st.IP == "" {
		t.Errorf("hostNetwork sandbox: netns %q ip %q", st.NetNSPath, st.IP)
	}
	c := e.start(sb, runtimeSleeper("c"))
	hostLinks, _ := os.ReadDir("/sys/class/net")
	links := e.exec(c, "ls", "/sys/class/net")
	for _, l := range hostLinks {
		if !strings.Contains(links, l.Name()) {
			t.Errorf("hostNetwork container does not see %s: %s", l.Name(), links)
		}
	}
	for _, ns := range []string{"net", "pid", "ipc", "uts"} {
		host := runtimeHostNS(ns)
		if got := strings.TrimSpace(e.exec(c, "readlink", "/proc/self/ns/"+ns)); got != host {
			t.Errorf("%s namespace %s, host %s", ns, got, host)
		}
	}
	hn, _ := os.Hostname()
	if got := strings.TrimSpace(e.exec(c, "hostname")); got != hn {
		t.Errorf("hostname %q, want the node's %q", got, hn)
	}
	hosts := e.exec(c, "cat", "/etc/hosts")
	nodeHosts, _ := os.ReadFile("/etc/hosts")
	if want := "# Kubernetes-managed hosts file (host network).\n" + string(nodeHosts) + "\n# Entries added by HostAliases.\n10.9.9.9\talias.host\n"; hosts != want {
		t.Errorf("/etc/hosts:\n%s\nwant:\n%s", hosts, want)
	}
	// hostPID: the container sees host processes (our own test binary).
	if ps := e.exec(c, "ps", "-o", "pid"); !strings.Contains(ps, strconv.Itoa(os.Getpid())) {
		t.Errorf("hostPID container does not see pid %d", os.Getpid())
	}
}

func TestRuntimeTwoPodsReachEachOther(t *testing.T) {
	e := runtimeNewEnv(t)
	a := e.runPod(e.sandboxConfig("pod-a"))
	b := e.runPod(e.sandboxConfig("pod-b"))
	sa, _ := e.d.PodSandboxStatus(context.Background(), a)
	sb, _ := e.d.PodSandboxStatus(context.Background(), b)
	if sa.IP == sb.IP || !strings.HasPrefix(sa.IP, "10.") {
		t.Fatalf("pod IPs %q and %q", sa.IP, sb.IP)
	}
	// (busybox-static's wget segfaults with -T; the exec timeout bounds it.)
	e.start(a, v1.Container{Name: "server", Command: []string{"sh", "-c", "mkdir /www && echo pod-a > /www/index.html && exec httpd -f -p 8080 -h /www"}})
	cb := e.start(b, runtimeSleeper("client"))
	var got string
	for i := 0; i < 50; i++ {
		res, err := e.d.ExecSync(context.Background(), cb, []string{"wget", "-q", "-O", "-", "http://" + sa.IP + ":8080/"}, 5*time.Second)
		if err == nil && res.ExitCode == 0 {
			got = string(res.Stdout)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.TrimSpace(got) != "pod-a" {
		t.Fatalf("pod-b fetched %q from %s", got, sa.IP)
	}
	// And back: ping pod-b from pod-a's infra namespace via a container.
	ca := e.start(a, runtimeSleeper("pinger"))
	e.exec(ca, "ping", "-c", "1", "-W", "2", sb.IP)
}

func TestRuntimeOOMKilled(t *testing.T) {
	e := runtimeNewEnv(t)
	sb := e.runPod(e.sandboxConfig("oom"))
	c := e.start(sb, v1.Container{Name: "hog", Command: []string{"tail", "/dev/zero"},
		Resources: v1.ResourceRequirements{Limits: v1.ResourceList{v1.ResourceMemory: resourceMust("24Mi")}}})
	st := e.waitExited(c, 30*time.Second)
	if st.Reason != "OOMKilled" || st.ExitCode != 137 {
		t.Errorf("hog: reason %q exit %d", st.Reason, st.ExitCode)
	}
}

func TestRuntimeCommandNotFound(t *testing.T) {
	e := runtimeNewEnv(t)
	sb := e.runPod(e.sandboxConfig("nocmd"))
	id := e.create(sb, v1.Container{Name: "bad", Command: []string{"no-such-command"}})
	err := e.d.StartContainer(context.Background(), id)
	if err == nil || !strings.Contains(err.Error(), `exec: "no-such-command": executable file not found in $PATH`) {
		t.Fatalf("StartContainer error: %v", err)
	}
	st, _ := e.d.ContainerStatus(context.Background(), id)
	if st.State != runtime.ContainerExited || st.Reason != "StartError" || st.ExitCode != 128 || !strings.Contains(st.Message, "no-such-command") {
		t.Errorf("status: %+v", st)
	}
	if err := e.d.RemoveContainer(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	// A created, never started container is removed at once.
	created := e.create(sb, runtimeSleeper("never-started"))
	if st, _ := e.d.ContainerStatus(context.Background(), created); st.State != runtime.ContainerCreated {
		t.Errorf("created container is %s", st.State)
	}
	t0 := time.Now()
	if err := e.d.RemoveContainer(context.Background(), created); err != nil || time.Since(t0) > 5*time.Second {
		t.Errorf("removing a created container: %v after %v", err, time.Since(t0))
	}
	// The pod keeps working after the failure.
	ok := e.start(sb, v1.Container{Name: "good", Command: []string{"true"}})
	if st := e.waitExited(ok, 10*time.Second); st.Reason != "Completed" || st.ExitCode != 0 {
		t.Errorf("good: %+v", st)
	}
}

func TestRuntimeSandboxFailureLeavesNothing(t *testing.T) {
	e := runtimeNewEnv(t)
	cfg := e.cfg
	cfg.CNIPluginDirs = []string{filepath.Join(e.dataDir, "no-plugins")}
	d, err := runc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.RunPodSandbox(context.Background(), e.sandboxConfig("nonet"))
	if err == nil || !strings.Contains(err.Error(), "bridge") {
		t.Fatalf("RunPodSandbox without plugins: %v", err)
	}
	if sbs, _ := d.ListPodSandboxes(context.Background()); len(sbs) != 0 {
		t.Errorf("failed sandbox still listed: %+v", sbs[0])
	}
	// Container-level: a bad spec leaves no container behind.
	sb := e.runPod(e.sandboxConfig("badspec"))
	_, err = e.d.CreateContainer(context.Background(), sb, &runtime.ContainerConfig{
		Spec: v1.Container{Name: "x", Image: "busybox", Command: []string{"true"}, WorkingDir: "relative"}, ImageRef: e.imageID})
	if err == nil {
		t.Fatal("relative workingDir accepted")
	}
	_, err = e.d.CreateContainer(context.Background(), sb, &runtime.ContainerConfig{
		Spec: v1.Container{Name: "y", Image: "nosuchimage"}, ImageRef: "nosuchimage"})
	if !errors.Is(err, runtime.ErrImageNotFound) {
		t.Fatalf("unknown image: %v", err)
	}
	if cs, _ := e.d.ListContainers(context.Background(), runtime.ContainerFilter{}); len(cs) != 0 {
		t.Errorf("containers left: %d", len(cs))
	}
}

func TestRuntimeAdoptionAfterRestart(t *testing.T) {
	e := runtimeNewEnv(t, func(c *runc.Config) { c.WarmSandboxes = 1 })
	cfg := e.sandboxConfig("adopt")
	sb := e.runPod(cfg)
	c := e.start(sb, v1.Container{Name: "ticker", Command: []string{"sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.05; done"}})
	before, _ := e.d.ContainerStatus(context.Background(), c)
	sbBefore, _ := e.d.PodSandboxStatus(context.Background(), sb)
	time.Sleep(200 * time.Millisecond)

	// A new driver on the same data dir (the agent restarted; its
	// goroutines died with it).
	warm := runtimeWarmIDs(t, e)
	if len(warm) != 1 {
		t.Fatalf("warm sandboxes before restart: %v", warm)
	}
	e.d.Close()
	e.d = e.newDriver()
	after, err := e.d.ContainerStatus(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	sbAfter, _ := e.d.PodSandboxStatus(context.Background(), sb)
	if after.State != runtime.ContainerRunning || after.PID != before.PID || !after.StartedAt.Equal(before.StartedAt) {
		t.Errorf("adopted container: %+v (before pid %d)", after, before.PID)
	}
	if sbAfter.State != runtime.SandboxReady || sbAfter.InfraPID != sbBefore.InfraPID || sbAfter.IP != sbBefore.IP {
		t.Errorf("adopted sandbox: %+v", sbAfter)
	}
	log1, _ := os.ReadFile(after.LogPath)
	var log2 []byte
	eventually(t, 5*time.Second, "the adopted container's log to grow", func() (bool, string) {
		log2, _ = os.ReadFile(after.LogPath)
		return len(log2) > len(log1), fmt.Sprintf("%d -> %d bytes", len(log1), len(log2))
	})
	if len(log2) <= len(log1) || !strings.Contains(string(log2), " stdout F tick ") {
		t.Errorf("log did not grow after adoption (%d -> %d bytes)", len(log1), len(log2))
	}
	if got := strings.TrimSpace(e.exec(c, "hostname")); got != "adopt" {
		t.Errorf("exec after adoption: %q", got)
	}
	if err := e.d.StopContainer(context.Background(), c, time.Second); err != nil {
		t.Fatal(err)
	}
	if st := e.waitExited(c, 5*time.Second); st.ExitCode != 137 && st.ExitCode != 143 {
		t.Errorf("exit after stop: %d", st.ExitCode)
	}
	// The warm sandbox was adopted into the new driver's pool.
	if id := e.runPod(e.sandboxConfig("after")); id != warm[0] {
		t.Errorf("new pod got sandbox %s, not the adopted warm %s", id, warm[0])
	}
}

func TestRuntimeTerminationMessage(t *testing.T) {
	e := runtimeNewEnv(t)
	sb := e.runPod(e.sandboxConfig("term"))
	a := e.start(sb, v1.Container{Name: "a", Command: []string{"sh", "-c", "echo -n all done > /dev/termination-log"}})
	b := e.start(sb, v1.Container{Name: "b", Command: []string{"sh", "-c", "echo from the logs; exit 2"},
		TerminationMessagePolicy: v1.TerminationMessageFallbackToLogsOnError})
	c := e.start(sb, v1.Container{Name: "c", Command: []string{"sh", "-c", "echo custom > /tmp/msg"}, TerminationMessagePath: "/tmp/msg"})
	if st := e.waitExited(a, 10*time.Second); st.Message != "all done" || st.Reason != "Completed" {
		t.Errorf("a: %q %s", st.Message, st.Reason)
	}
	// The log's full line with its newline, as the kubelet's ReadLogs gives it.
	if st := e.waitExited(b, 10*time.Second); st.Message != "from the logs\n" || st.ExitCode != 2 {
		t.Errorf("b: %q %d", st.Message, st.ExitCode)
	}
	if st := e.waitExited(c, 10*time.Second); st.Message != "custom\n" {
		t.Errorf("c: %q", st.Message)
	}
}

func TestRuntimeCreateDeleteCycles(t *testing.T) {
	for _, warm := range []int{0, 2} {
		t.Run(fmt.Sprintf("warm=%d", warm), func(t *testing.T) {
			runtimeCycles(t, warm)
		})
	}
}

// runtimeCycles creates and deletes a pod with one container 50 times; the
// env's cleanup then checks that nothing is left on the host.
func runtimeCycles(t *testing.T, warm int) {
	e := runtimeNewEnv(t, func(c *runc.Config) { c.WarmSandboxes = warm })
	ctx := context.Background()
	var starts, teardowns []time.Duration
	for i := 0; i < 50; i++ {
		t0 := time.Now()
		cfg := e.sandboxConfig(fmt.Sprintf("cycle-%d", i))
		cfg.ShareProcessNamespace = i%2 == 0
		sb := e.runPod(cfg)
		c := e.start(sb, runtimeSleeper("c"))
		starts = append(starts, time.Since(t0))
		if i%10 == 0 {
			// A claimed warm sandbox is the pod's own: its name and files.
			if got := strings.TrimSpace(e.exec(c, "hostname")); got != cfg.Name {
				t.Fatalf("cycle %d: hostname %q", i, got)
			}
			if hosts := e.exec(c, "cat", "/etc/hosts"); !strings.Contains(hosts, "\t"+cfg.Name+"\n") {
				t.Fatalf("cycle %d: /etc/hosts\n%s", i, hosts)
			}
			pid1 := e.exec(c, "cat", "/proc/1/cmdline")
			if cfg.ShareProcessNamespace != strings.HasPrefix(pid1, "/catatonit") {
				t.Fatalf("cycle %d: share=%v but PID 1 is %q", i, cfg.ShareProcessNamespace, pid1)
			}
		}
		if st, _ := e.d.ContainerStatus(ctx, c); st.State != runtime.ContainerRunning {
			t.Fatalf("cycle %d: %s", i, st.State)
		}
		t1 := time.Now()
		if err := e.d.StopPodSandbox(ctx, sb); err != nil {
			t.Fatal(err)
		}
		if err := e.d.RemovePodSandbox(ctx, sb); err != nil {
			t.Fatal(err)
		}
		teardowns = append(teardowns, time.Since(t1))
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
	sort.Slice(teardowns, func(i, j int) bool { return teardowns[i] < teardowns[j] })
	t.Logf("pod start p50 %v p99 %v; teardown p50 %v p99 %v", starts[25], starts[49], teardowns[25], teardowns[49])
	if sbs, _ := e.d.ListPodSandboxes(ctx); len(sbs) != 0 {
		t.Errorf("%d sandboxes listed after the cycles (warm ones must not be)", len(sbs))
	}
}

func TestRuntimeExecAttachPortForward(t *testing.T) {
	e := runtimeNewEnv(t)
	ctx := context.Background()
	sb := e.runPod(e.sandboxConfig("streams"))
	c := e.start(sb, v1.Container{Name: "srv", Command: []string{"sh", "-c", "mkdir /www && echo forwarded > /www/index.html && httpd -p 127.0.0.1:8080 -h /www && while read line; do echo got:$line; done; echo stdin-closed; sleep 3600"},
		Stdin: true})

	// ExecSync: exit codes, stderr, timeout.
	res, err := e.d.ExecSync(ctx, c, []string{"sh", "-c", "echo out; echo err >&2; exit 7"}, 5*time.Second)
	if err != nil || res.ExitCode != 7 || string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" {
		t.Errorf("ExecSync: %v %+v", err, res)
	}
	t0 := time.Now()
	_, err = e.d.ExecSync(ctx, c, []string{"sleep", "30"}, 300*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(t0) > 5*time.Second {
		t.Errorf("ExecSync timeout: %v after %v", err, time.Since(t0))
	}
	if ps := e.exec(c, "ps", "-o", "args"); strings.Contains(ps, "sleep 30") {
		t.Errorf("timed-out exec still running:\n%s", ps)
	}

	// Exec with stdin, no TTY.
	var out, errOut runtimeSyncBuffer
	code, err := e.d.Exec(ctx, c, []string{"sh", "-c", "tr a-z A-Z; echo bye >&2"}, runtime.Streams{Stdin: strings.NewReader("hello exec\n"), Stdout: &out, Stderr: &errOut})
	if err != nil || code != 0 || out.String() != "HELLO EXEC\n" || errOut.String() != "bye\n" {
		t.Errorf("Exec: %v %d %q %q", err, code, out.String(), errOut.String())
	}

	// Exec with a TTY: the shell sees a terminal of the requested size.
	resize := make(chan remotecommand.TerminalSize, 1)
	resize <- remotecommand.TerminalSize{Width: 123, Height: 45}
	pr, pw := io.Pipe()
	var ttyOut runtimeSyncBuffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		code, err = e.d.Exec(ctx, c, []string{"sh"}, runtime.Streams{TTY: true, Stdin: pr, Stdout: &ttyOut, Resize: resize})
	}()
	go io.WriteString(pw, "tty -s && echo is-a-tty; stty size; exit 3\n")
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("tty exec did not finish")
	}
	close(resize)
	pw.Close()
	if code != 3 || !strings.Contains(ttyOut.String(), "is-a-tty") || !strings.Contains(ttyOut.String(), "45 123") {
		t.Errorf("tty exec: code %d err %v output %q", code, err, ttyOut.String())
	}

	// Attach: what we write reaches the main process's stdin; its output comes back.
	actx, cancel := context.WithCancel(ctx)
	var aout runtimeSyncBuffer
	apr, apw := io.Pipe()
	adone := make(chan error, 1)
	go func() { adone <- e.d.Attach(actx, c, runtime.Streams{Stdin: apr, Stdout: &aout, Stderr: &aout}) }()
	go io.WriteString(apw, "ping-attach\n")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(aout.String(), "got:ping-attach") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(aout.String(), "got:ping-attach") {
		t.Errorf("attach output %q", aout.String())
	}
	cancel()
	apw.Close()
	<-adone

	// PortForward reaches a server listening only on the pod's 127.0.0.1.
	client, server := net.Pipe()
	pfDone := make(chan error, 1)
	go func() { pfDone <- e.d.PortForward(ctx, sb, 8080, server) }()
	io.WriteString(client, "GET /index.html HTTP/1.0\r\n\r\n")
	resp, _ := io.ReadAll(client)
	client.Close()
	if !strings.Contains(string(resp), "forwarded") {
		t.Errorf("port-forward response %q", resp)
	}
	if err := <-pfDone; err != nil {
		t.Errorf("PortForward: %v", err)
	}
}

func TestRuntimeHostPort(t *testing.T) {
	e := runtimeNewEnv(t)
	hostIPs := []string{}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !strings.HasPrefix(n.IP.String(), "10.") {
			hostIPs = append(hostIPs, n.IP.String())
		}
	}
	if len(hostIPs) == 0 {
		t.Skip("no host IPv4 address outside 10/8")
	}
	hostPort := int32(20000 + os.Getpid()%10000)
	cfg := e.sandboxConfig("hostport")
	cfg.PortMappings = []runtime.PortMapping{{Protocol: v1.ProtocolTCP, ContainerPort: 8080, HostPort: hostPort}}
	sb := e.runPod(cfg)
	e.start(sb, v1.Container{Name: "server", Command: []string{"sh", "-c", "mkdir /www && echo via-hostport > /www/index.html && exec httpd -f -p 8080 -h /www"}})
	url := fmt.Sprintf("http://%s:%d/", hostIPs[0], hostPort)
	var body []byte
	for i := 0; i < 50; i++ {
		c := http.Client{Timeout: 2 * time.Second}
		if resp, err := c.Get(url); err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.TrimSpace(string(body)) != "via-hostport" {
		t.Fatalf("GET %s: %q", url, body)
	}
}

func TestRuntimeConcurrentPods(t *testing.T) {
	e := runtimeNewEnv(t, func(c *runc.Config) { c.WarmSandboxes = 2 })
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	ips := make([]string, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := e.sandboxConfig(fmt.Sprintf("burst-%d", i))
			sb, err := e.d.RunPodSandbox(ctx, cfg)
			if err != nil {
				errs <- err
				return
			}
			c, err := e.d.CreateContainer(ctx, sb, &runtime.ContainerConfig{Spec: runtimeSleeper("c"), ImageRef: e.imageID})
			if err == nil {
				err = e.d.StartContainer(ctx, c)
			}
			if err != nil {
				errs <- err
				return
			}
			st, _ := e.d.PodSandboxStatus(ctx, sb)
			ips[i] = st.IP
			if h, err := e.d.ExecSync(ctx, c, []string{"hostname"}, 10*time.Second); err != nil || strings.TrimSpace(string(h.Stdout)) != cfg.Name {
				errs <- fmt.Errorf("pod %d: hostname %q %v", i, h.Stdout, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seen := map[string]bool{}
	for _, ip := range ips {
		if ip == "" || seen[ip] {
			t.Errorf("pod IPs not unique: %v", ips)
			break
		}
		seen[ip] = true
	}
	sbs, _ := e.d.ListPodSandboxes(ctx)
	if len(sbs) != n {
		t.Errorf("%d sandboxes listed, want %d", len(sbs), n)
	}
	for _, sb := range sbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.d.RemovePodSandbox(ctx, sb.ID); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func TestRuntimeAttachTTY(t *testing.T) {
	e := runtimeNewEnv(t)
	sb := e.runPod(e.sandboxConfig("ttyattach"))
	c := e.start(sb, v1.Container{Name: "shell", Command: []string{"sh"}, TTY: true, Stdin: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resize := make(chan remotecommand.TerminalSize, 1)
	resize <- remotecommand.TerminalSize{Width: 101, Height: 33}
	pr, pw := io.Pipe()
	var out runtimeSyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- e.d.Attach(ctx, c, runtime.Streams{TTY: true, Stdin: pr, Stdout: &out, Resize: resize})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "33 101") && time.Now().Before(deadline) {
		go io.WriteString(pw, "stty size\n")
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "33 101") {
		t.Errorf("tty attach: no resized terminal in %q", out.String())
	}
	go io.WriteString(pw, "exit 4\n")
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Attach: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Attach did not return when the shell exited")
	}
	if st := e.waitExited(c, 5*time.Second); st.ExitCode != 4 {
		t.Errorf("shell exit %d", st.ExitCode)
	}
	close(resize)
	pw.Close()
}

func TestRuntimeSandboxesShareCgroupParent(t *testing.T) {
	e := runtimeNewEnv(t)
	ctx := context.Background()
	parent := e.cfg.CgroupParent + "/pod-same-uid"
	a := e.sandboxConfig("first")
	a.CgroupParent = parent
	b := e.sandboxConfig("second")
	b.CgroupParent = parent
	sa, sb := e.runPod(a), e.runPod(b)
	e.start(sa, runtimeSleeper("c"))
	e.start(sb, runtimeSleeper("c"))
	// The old sandbox of a pod goes while its replacement runs.
	if err := e.d.RemovePodSandbox(ctx, sa); err != nil {
		t.Fatalf("removing the first sandbox: %v", err)
	}
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/memory", parent)); err != nil {
		t.Errorf("pod cgroup removed under the second sandbox: %v", err)
	}
	if err := e.d.RemovePodSandbox(ctx, sb); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/memory", parent)); err == nil {
		t.Errorf("pod cgroup %s left after the last sandbox", parent)
	}
}

// TestRuntimeStartPath checks the pod start path's shortcuts against what
// runc itself reports: the state directories are tmpfs, runc runs from a
// sealed memfd copy (so runc init does not re-execute itself), a started
// container is "running" to `runc state` with its exec fifo gone and its
// user process already exec'd, and a container whose init died before the
// start fails to start as with `runc start`.
func TestRuntimeStartPath(t *testing.T) {
	e := runtimeNewEnv(t)
	rt := filepath.Join(e.dataDir, "runtime")
	for _, d := range []string{"sandboxes", "containers", "exits", "socks", "runc", "cni"} {
		if out := run(t, "stat", "-f", "-c", "%T", filepath.Join(rt, d)); strings.TrimSpace(out) != "tmpfs" {
			t.Errorf("%s is on %s, want tmpfs", d, out)
		}
	}
	link, err := os.Readlink(filepath.Join(rt, "bin", "runc"))
	if err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(link); !strings.HasPrefix(target, "/memfd:runc") {
		t.Errorf("runc copy is %q, want a memfd", target)
	}
	// runc init skips its re-exec only for exactly these seals
	// (cloned_binary.c RUNC_MEMFD_SEALS).
	if f, err := os.Open(link); err != nil {
		t.Error(err)
	} else {
		seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
		f.Close()
		if want := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE; err != nil || seals != want {
			t.Errorf("runc copy seals %#x (%v), want %#x", seals, err, want)
		}
	}

	sb := e.runPod(e.sandboxConfig("startpath"))
	c := e.start(sb, runtimeSleeper("c"))
	st, err := e.d.ContainerStatus(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", st.PID)); string(cmd) != "sleep\x003600\x00" {
		t.Errorf("right after the start the process is %q, want sleep 3600", cmd)
	}
	if state := run(t, "runc", "--root", filepath.Join(rt, "runc"), "state", c); !strings.Contains(state, `"status": "running"`) {
		t.Errorf("runc state after start:\n%s", state)
	}
	if _, err := os.Stat(filepath.Join(rt, "runc", c, "exec.fifo")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("exec fifo after start: %v", err)
	}

	// init killed between create and start: the start fails, as runc's does.
	dead := e.create(sb, runtimeSleeper("dead"))
	st, err = e.d.ContainerStatus(context.Background(), dead)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscallKill(st.PID); err != nil {
		t.Fatal(err)
	}
	err = e.d.StartContainer(context.Background(), dead)
	if err == nil || !strings.Contains(err.Error(), "already dead") {
		t.Errorf("start of a container whose init died: %v", err)
	}
	if err := e.d.RemovePodSandbox(context.Background(), sb); err != nil {
		t.Fatal(err)
	}
}

func syscallKill(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
