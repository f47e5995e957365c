package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/runtime"
)

// nsexecExec runs cmd through ExecSync (the fast path) or through runc
// exec, and renders the result for comparison.
func nsexecExec(t *testing.T, e *runtimeEnv, viaRunc bool, id string, cmd ...string) string {
	t.Helper()
	exec := e.d.ExecSync
	if viaRunc {
		exec = e.d.ExecSyncRunc
	}
	res, err := exec(context.Background(), id, cmd, 10*time.Second)
	if err != nil {
		return "error: " + err.Error()
	}
	stderr := string(res.Stderr)
	if m := nsexecRuncLog.FindStringSubmatch(stderr); m != nil {
		// runc's own errors come as logrus lines; the fast path writes
		// the message alone.
		if msg, err := strconv.Unquote(m[1]); err == nil {
			stderr = msg + "\n"
		}
	}
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", res.ExitCode, res.Stdout, stderr)
}

var nsexecRuncLog = regexp.MustCompile(`^time="[^"]*" level=error msg=("(?:[^"\\]|\\.)*")\n$`)

// nsexecSortLines sorts an output's lines (env order is not a contract).
func nsexecSortLines(s string) string {
	l := strings.Split(s, "\n")
	sort.Strings(l)
	return strings.Join(l, "\n")
}

// TestNsexecMatchesRunc runs the same commands through the fast exec
// path and through runc exec in containers with a volume, env, a working
// dir, a non-root user, dropped capabilities and no_new_privs, and
// requires the same results: filesystem (volume included), hostname,
// network, PID namespace, user, env, cwd, cgroups, capabilities, exit
// codes, output, a missing command.
func TestNsexecMatchesRunc(t *testing.T) {
	e := runtimeNewEnv(t)
	ctx := context.Background()
	sb := e.runPod(e.sandboxConfig("nsexec"))
	vol := filepath.Join(e.dataDir, "vol")
	if err := os.MkdirAll(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vol, "file"), []byte("from the volume\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	create := func(c v1.Container, psc *v1.PodSecurityContext) string {
		t.Helper()
		c.Image = "busybox"
		id, err := e.d.CreateContainer(ctx, sb, &runtime.ContainerConfig{
			Spec: c, ImageRef: e.imageID, PodSecurityContext: psc,
			Env:    []runtime.EnvVar{{Name: "GREETING", Value: "hello"}, {Name: "PATH", Value: "/usr/bin:/bin:/usr/sbin:/sbin"}},
			Mounts: []runtime.Mount{{ContainerPath: "/data", HostPath: vol, ReadOnly: true}},
		})
		if err != nil {
			t.Fatalf("CreateContainer %s: %v", c.Name, err)
		}
		if err := e.d.StartContainer(ctx, id); err != nil {
			t.Fatalf("StartContainer %s: %v", c.Name, err)
		}
		return id
	}
	no := false
	uid, gid := int64(1000), int64(1001)
	web := create(v1.Container{Name: "web", WorkingDir: "/tmp",
		Command: []string{"sh", "-c", "echo served > /tmp/index.html; exec httpd -f -p 127.0.0.1:8080 -h /tmp"}}, nil)
	user := create(v1.Container{Name: "user", WorkingDir: "/data", Command: []string{"sleep", "3600"},
		SecurityContext: &v1.SecurityContext{RunAsUser: &uid, RunAsGroup: &gid, AllowPrivilegeEscalation: &no}},
		&v1.PodSecurityContext{SupplementalGroups: []int64{2000}})
	nocaps := create(v1.Container{Name: "nocaps", Command: []string{"sleep", "3601"},
		SecurityContext: &v1.SecurityContext{Capabilities: &v1.Capabilities{Drop: []v1.Capability{"ALL"}}}}, nil)

	cmds := [][]string{
		{"id"},
		{"pwd"},
		{"sh", "-c", "env | grep -v '^PWD='"}, // sorted below
		{"hostname"},
		{"cat", "/etc/hostname", "/data/file"},
		{"cat", "/proc/self/cgroup"},
		{"sh", "-c", "for n in mnt net pid ipc uts cgroup; do readlink /proc/self/ns/$n; done"},
		{"grep", "-E", "^(Cap|NoNewPrivs|Seccomp:|Uid|Gid|Groups)", "/proc/self/status"},
		{"cat", "/proc/self/limits"},
		{"sh", "-c", "umask; ls /proc/self/fd"},
		{"sh", "-c", "cut -d' ' -f6 /proc/$$/stat | grep -qx $$ && echo session leader"},
		{"sh", "-c", "ps -o args | grep -c '^httpd -f\\|^sleep 360'"},
		{"wget", "-q", "-O", "-", "http://127.0.0.1:8080/index.html"},
		{"sh", "-c", "echo out; echo err >&2; exit 3"},
		{"sh", "-c", "kill -9 $$"},
		{"no-such-command"},
		{"/tmp"},
		{"chown", "1", "/tmp"},
		{"touch", "/data/x"},
	}
	for _, id := range []string{web, user, nocaps} {
		for _, cmd := range cmds {
			fast, slow := nsexecExec(t, e, false, id, cmd...), nsexecExec(t, e, true, id, cmd...)
			if cmd[0] == "sh" && strings.HasPrefix(cmd[2], "env") {
				fast, slow = nsexecSortLines(fast), nsexecSortLines(slow)
			}
			if fast != slow {
				t.Errorf("container %s, %q:\nfast path:\n%s\nrunc exec:\n%s", id[:8], cmd, fast, slow)
			}
		}
	}

	// Spot checks of the values themselves (both paths agreed on them).
	want := map[string]struct {
		id   string
		cmd  []string
		want string
	}{
		"user":   {user, []string{"id"}, "uid=1000 gid=1001 groups=2000"},
		"cwd":    {user, []string{"pwd"}, "/data"},
		"env":    {web, []string{"sh", "-c", "echo $GREETING"}, "hello"},
		"volume": {web, []string{"cat", "/data/file"}, "from the volume"},
		"net":    {user, []string{"wget", "-q", "-O", "-", "http://127.0.0.1:8080/index.html"}, "served"},
		"host":   {nocaps, []string{"hostname"}, "nsexec"},
		"nnp":    {user, []string{"sh", "-c", "grep NoNewPrivs /proc/self/status | tr -d '\\t '"}, "NoNewPrivs:1"},
	}
	for name, w := range want {
		res, err := e.d.ExecSync(ctx, w.id, w.cmd, 10*time.Second)
		if err != nil || res.ExitCode != 0 || !strings.Contains(string(res.Stdout), w.want) {
			t.Errorf("%s: %q: %v %+v (want %q)", name, w.cmd, err, res, w.want)
		}
	}
	// The container's cgroups: the exec'd process is where the container's
	// main process (PID 1 of its namespace) is.
	if res, err := e.d.ExecSync(ctx, web, []string{"sh", "-c", "cmp /proc/self/cgroup /proc/1/cgroup && grep -c " + filepath.Base(web) + " /proc/self/cgroup"}, 10*time.Second); err != nil || res.ExitCode != 0 {
		t.Errorf("cgroup: %v %+v", err, res)
	}
	// drop: [ALL] as root: no chown, no CAP_CHOWN.
	if res, err := e.d.ExecSync(ctx, nocaps, []string{"chown", "1", "/tmp"}, 10*time.Second); err != nil || res.ExitCode == 0 {
		t.Errorf("chown without capabilities: %v %+v", err, res)
	}
	if res, err := e.d.ExecSync(ctx, web, []string{"chown", "1", "/tmp"}, 10*time.Second); err != nil || res.ExitCode != 0 {
		t.Errorf("chown with the default capabilities: %v %+v", err, res)
	}
}

// nsexecChildren lists the test process's child processes whose command
// is comm (zombies included).
func nsexecChildren(comm string) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	self := strconv.Itoa(os.Getpid())
	for _, ent := range ents {
		b, err := os.ReadFile("/proc/" + ent.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if i < 0 || j < i {
			continue
		}
		f := strings.Fields(s[j+1:])
		if len(f) > 2 && s[i+1:j] == comm && f[1] == self {
			out = append(out, ent.Name()+" "+f[0])
		}
	}
	return out
}

// TestNsexecTimeoutAndLeaks: a hanging command is killed at the timeout
// with what it started, leaving no process, zombie, thread or fd behind.
func TestNsexecTimeoutAndLeaks(t *testing.T) {
	e := runtimeNewEnv(t)
	ctx := context.Background()
	sb := e.runPod(e.sandboxConfig("nsexec-leaks"))
	id := e.start(sb, runtimeSleeper("c"))

	t0 := time.Now()
	_, err := e.d.ExecSync(ctx, id, []string{"sh", "-c", "sleep 1234 & sleep 1235"}, 300*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(t0) > 6*time.Second {
		t.Errorf("timeout: %v after %v", err, time.Since(t0))
	}
	if ps := e.exec(id, "ps", "-o", "args"); strings.Contains(ps, "sleep 123") {
		t.Errorf("timed-out exec left processes:\n%s", ps)
	}
	if z := nsexecChildren("sleep"); len(z) > 0 {
		t.Errorf("children left: %v", z)
	}
	// A background child that keeps the output pipes open holds ExecSync
	// for at most a second after the command exits; the output and exit
	// code are the command's.
	t0 = time.Now()
	res, err := e.d.ExecSync(ctx, id, []string{"sh", "-c", "sleep 1236 & echo started; exit 4"}, 10*time.Second)
	if err != nil || res.ExitCode != 4 || string(res.Stdout) != "started\n" || time.Since(t0) > 6*time.Second {
		t.Errorf("background child holding the pipes: %v %+v after %v", err, res, time.Since(t0))
	}
	e.exec(id, "sh", "-c", "kill $(ps -o pid,args | awk '$2 == \"sleep\" && $3 == 1236 { print $1 }')")

	count := func(dir string) int {
		ents, _ := os.ReadDir(dir)
		return len(ents)
	}
	hostNS := map[string]string{}
	for _, ns := range []string{"mnt", "net", "pid", "uts", "ipc", "cgroup"} {
		hostNS[ns] = runtimeHostNS(ns)
	}
	fds0, threads0 := count("/proc/self/fd"), count("/proc/self/task")
	for i := 0; i < 50; i++ {
		res, err := e.d.ExecSync(ctx, id, []string{"sh", "-c", "echo $$"}, 5*time.Second)
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("exec %d: %v %+v", i, err, res)
		}
	}
	time.Sleep(100 * time.Millisecond)
	fds1, threads1 := count("/proc/self/fd"), count("/proc/self/task")
	if fds1 > fds0+2 {
		t.Errorf("fds %d → %d after 50 execs", fds0, fds1)
	}
	if threads1 > threads0+4 {
		t.Errorf("threads %d → %d after 50 execs (locked threads not discarded?)", threads0, threads1)
	}
	if z := nsexecChildren("sh"); len(z) > 0 {
		t.Errorf("children left: %v", z)
	}
	// The agent's threads are still in the host's namespaces (the
	// switched ones were discarded, not reused).
	for i := 0; i < 20; i++ {
		for ns, host := range hostNS {
			if got := runtimeHostNS(ns); got != host {
				t.Fatalf("a thread of the test process is in %s namespace %s, not the host's %s", ns, got, host)
			}
		}
	}
}

// TestNsexecCost measures what one ExecSync of `true` costs the calling
// process in CPU (its own threads, and the reaped children), through the
// fast path and through runc exec.
func TestNsexecCost(t *testing.T) {
	e := runtimeNewEnv(t)
	ctx := context.Background()
	sb := e.runPod(e.sandboxConfig("nsexec-cost"))
	id := e.start(sb, runtimeSleeper("c"))
	cpu := func() (self, children time.Duration) {
		var s, c syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &s)
		syscall.Getrusage(syscall.RUSAGE_CHILDREN, &c)
		tv := func(r *syscall.Rusage) time.Duration {
			return time.Duration(r.Utime.Nano() + r.Stime.Nano())
		}
		return tv(&s), tv(&c)
	}
	for _, path := range []struct {
		name string
		n    int
		exec func(context.Context, string, []string, time.Duration) (*runtime.ExecResult, error)
	}{{"fast path", nsexecCostN(), e.d.ExecSync}, {"runc exec", 60, e.d.ExecSyncRunc}} {
		var lat []time.Duration
		var m0, m1 goruntime.MemStats
		goruntime.ReadMemStats(&m0)
		s0, c0 := cpu()
		for i := 0; i < path.n; i++ {
			start := time.Now()
			res, err := path.exec(ctx, id, []string{"true"}, 5*time.Second)
			lat = append(lat, time.Since(start))
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("%s: %v %+v", path.name, err, res)
			}
		}
		s1, c1 := cpu()
		goruntime.ReadMemStats(&m1)
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		n := time.Duration(path.n)
		t.Logf("%s: latency p50 %v p99 %v; CPU per exec: %v in the caller + %v in children; %d allocations, %d bytes (this process, the test's own included)",
			path.name, lat[len(lat)/2].Round(10*time.Microsecond), lat[len(lat)*99/100].Round(10*time.Microsecond),
			((s1 - s0) / n).Round(time.Microsecond), ((c1 - c0) / n).Round(time.Microsecond),
			(m1.Mallocs-m0.Mallocs)/uint64(path.n), (m1.TotalAlloc-m0.TotalAlloc)/uint64(path.n))
	}
}

// TestNsexecHostNamespaces compares both exec paths in a pod with the
// host's network and PID namespaces (its container with capabilities
// added), and in a pod sharing its PID namespace. (Privileged containers
// cannot start on a host whose bounding set lacks a capability, as this
// one lacks CAP_SYS_RESOURCE.)
func TestNsexecHostNamespaces(t *testing.T) {
	e := runtimeNewEnv(t)
	hostCfg := e.sandboxConfig("nsexec-host")
	hostCfg.HostNetwork, hostCfg.HostPID = true, true
	hostSB := e.runPod(hostCfg)
	priv := e.start(hostSB, v1.Container{Name: "priv", Command: []string{"sleep", "3602"},
		SecurityContext: &v1.SecurityContext{Capabilities: &v1.Capabilities{Add: []v1.Capability{"SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE"}}}})
	sharedCfg := e.sandboxConfig("nsexec-shared")
	sharedCfg.ShareProcessNamespace = true
	shared := e.start(e.runPod(sharedCfg), v1.Container{Name: "shared", Command: []string{"sleep", "3603"}})
	cmds := [][]string{
		{"id"},
		{"sh", "-c", "for n in mnt net pid ipc uts cgroup; do readlink /proc/self/ns/$n; done"},
		{"grep", "-E", "^(Cap|NoNewPrivs)", "/proc/self/status"},
		{"cat", "/proc/self/cgroup"},
	}
	// The processes each sees: only this test's sleeps in the host's PID
	// namespace (other tests' catatonits come and go there), the pod's
	// own in the shared one.
	ps := map[string][]string{
		priv:   {"sh", "-c", "ps -o args | grep -c '^sleep 360[23]'"},
		shared: {"sh", "-c", "ps -o args | grep -c '^sleep 360[23]\\|^/catatonit'"},
	}
	for _, id := range []string{priv, shared} {
		for _, cmd := range append(cmds, ps[id]) {
			if fast, slow := nsexecExec(t, e, false, id, cmd...), nsexecExec(t, e, true, id, cmd...); fast != slow {
				t.Errorf("container %s, %q:\nfast path:\n%s\nrunc exec:\n%s", id[:8], cmd, fast, slow)
			}
		}
	}
	// hostNetwork: the node's network namespace; hostPID: the node's processes.
	if got := strings.TrimSpace(nsexecExec(t, e, false, priv, "readlink", "/proc/self/ns/net")); !strings.Contains(got, runtimeHostNS("net")) {
		t.Errorf("hostNetwork exec in %q, host's %s", got, runtimeHostNS("net"))
	}
	if got := nsexecExec(t, e, false, shared, "cat", "/proc/1/cmdline"); !strings.Contains(got, "/catatonit") {
		t.Errorf("shared PID namespace: PID 1 is not the infra's catatonit: %s", got)
	}
}

// nsexecCgroupFiles lists the cgroup files this process holds open.
func nsexecCgroupFiles() []string {
	// The process's own tasks files are kept open on purpose: pooled exec
	// threads write themselves back there.
	own := map[string]bool{}
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if f := strings.SplitN(l, ":", 3); len(f) == 3 && f[1] != "" {
				for _, c := range append([]string{strings.TrimPrefix(f[1], "name=")}, strings.Split(f[1], ",")...) {
					own[filepath.Join("/sys/fs/cgroup", c, f[2], "tasks")] = true
				}
			}
		}
	}
	ents, _ := os.ReadDir("/proc/self/fd")
	var out []string
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "/sys/fs/cgroup/") && strings.HasSuffix(l, "/tasks") && !own[l] {
			out = append(out, l)
		}
	}
	return out
}

// TestNsexecCacheAndRemoval: the fast path remembers a container's
// cgroups between execs (nsexec_cache.go) but keeps none of their tasks
// files open (only the agent's own, to go back to); it can remove the
// unified cgroup directory it keeps open;
// the pod is removed with nothing left, an exec in it then fails, and a
// new pod's execs work.
func TestNsexecCacheAndRemoval(t *testing.T) {
	e := runtimeNewEnv(t)
	ctx := context.Background()
	sb := e.runPod(e.sandboxConfig("nsexec-cache"))
	id := e.start(sb, runtimeSleeper("c"))
	for i := 0; i < 3; i++ {
		if res, err := e.d.ExecSync(ctx, id, []string{"sh", "-c", "cat /proc/self/cgroup"}, 5*time.Second); err != nil || res.ExitCode != 0 || !strings.Contains(string(res.Stdout), ":/") {
			t.Fatalf("exec: %v %+v", err, res)
		}
	}
	if held := nsexecCgroupFiles(); len(held) > 0 {
		t.Errorf("cgroup tasks files held open between execs: %v", held)
	}
	if err := e.d.StopPodSandbox(ctx, sb); err != nil {
		t.Fatal(err)
	}
	if err := e.d.RemovePodSandbox(ctx, sb); err != nil {
		t.Fatalf("removing the pod: %v", err)
	}
	if _, err := e.d.ExecSync(ctx, id, []string{"true"}, 5*time.Second); err == nil {
		t.Fatal("exec in a removed container succeeded")
	}
	sb2 := e.runPod(e.sandboxConfig("nsexec-cache2"))
	id2 := e.start(sb2, runtimeSleeper("c"))
	for i := 0; i < 3; i++ {
		if res, err := e.d.ExecSync(ctx, id2, []string{"true"}, 5*time.Second); err != nil || res.ExitCode != 0 {
			t.Fatalf("exec in the second pod: %v %+v", err, res)
		}
	}
}

// TestNsexecDuringKills runs exec probes in a loop while the pod's
// containers are killed and removed: `runc kill --all`, `runc delete
// --force` of a container in the sandbox's PID namespace and killCgroup
// kill every process listed in the container's cgroup.procs, which on
// cgroup v1 includes any process with a thread in the cgroup. The test
// process (the driver's host) must survive, and after each exec none of
// its threads may be left in a container's cgroup or namespaces.
func TestNsexecDuringKills(t *testing.T) {
	e := runtimeNewEnv(t)
	ctx := context.Background()
	for round := 0; round < 5; round++ {
		sb := e.runPod(e.sandboxConfig(fmt.Sprintf("nsexec-kill%d", round)))
		ids := []string{e.start(sb, runtimeSleeper("a")), e.start(sb, runtimeSleeper("b"))}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for _, id := range ids {
			for w := 0; w < 2; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						e.d.ExecSync(ctx, id, []string{"true"}, 2*time.Second)
					}
				}()
			}
		}
		time.Sleep(100 * time.Millisecond)
		if err := e.d.StopPodSandbox(ctx, sb); err != nil {
			t.Fatal(err)
		}
		if err := e.d.RemovePodSandbox(ctx, sb); err != nil {
			t.Fatal(err)
		}
		close(stop)
		wg.Wait()
	}
	// No thread of this process is in a cgroup other than the process's own.
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, tk := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + tk.Name() + "/cgroup")
		if err == nil && string(b) != string(own) {
			t.Errorf("thread %s is in other cgroups:\n%s", tk.Name(), b)
		}
		// Nor in other namespaces: the exec threads kept for reuse wait
		// at home.
		for _, ns := range []string{"mnt", "net", "ipc", "uts", "cgroup", "pid_for_children"} {
			want, _ := os.Readlink("/proc/self/ns/" + ns)
			if got, err := os.Readlink("/proc/self/task/" + tk.Name() + "/ns/" + ns); err == nil && got != want {
				t.Errorf("thread %s is in %s, not the process's %s", tk.Name(), got, want)
			}
		}
	}
}

// nsexecCostN is how many fast-path execs TestNsexecCost measures:
// PEAPOD_NSEXEC_COST_N, 300 by default (more for profiling).
func nsexecCostN() int {
	if n, err := strconv.Atoi(os.Getenv("PEAPOD_NSEXEC_COST_N")); err == nil && n > 0 {
		return n
	}
	return 300
}
