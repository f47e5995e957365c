package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestClusterPodStartBench measures end-to-end pod start latency as the
// Kubernetes SLO defines it (creation to all containers running, seen
// through a watch): PEAPOD_BENCH_PODSTART sequential pods, then a burst of
// PEAPOD_BENCH_BURST (default 100) on one node; with PEAPOD_BENCH_PODMAN=1
// the same with `podman kube play` side by side. PEAPOD_BENCH_WARM sets
// the agent's --warm-sandboxes.
//
//	PEAPOD_BENCH_PODSTART=30 PEAPOD_BENCH_PODMAN=1 go test ./test/e2e -run TestClusterPodStartBench -v
func TestClusterPodStartBench(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PEAPOD_BENCH_PODSTART"))
	if n <= 0 {
		t.Skip("set PEAPOD_BENCH_PODSTART=30 to run the pod start benchmark")
	}
	burst := 100
	if v, err := strconv.Atoi(os.Getenv("PEAPOD_BENCH_BURST")); err == nil {
		burst = v
	}
	cpu := &clusterBenchCPU{}
	t.Cleanup(cpu.remove) // registered first: runs after the pods and the agent are gone
	s := apiStart(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 1000, 1000 // no client-side throttling of the burst
	cs := kubernetes.NewForConfigOrDie(cfg)
	a := clusterStartAgent(t, s, "bench", "")
	if w := os.Getenv("PEAPOD_BENCH_WARM"); w != "" {
		a.stop()
		a.args = append(a.args, "--warm-sandboxes", w)
		a.start()
	}
	t.Cleanup(func() { clusterDeleteAllPods(t, s, cs) })
	cpu.track(t, "server", s.cmd.Process.Pid)
	a.mu.Lock()
	cpu.track(t, "agent", a.cmd.Process.Pid)
	a.mu.Unlock()
	for i, arg := range a.args {
		if arg == "--cgroup-parent" {
			cpu.pods = filepath.Join(clusterCPUAcct, a.args[i+1])
		}
	}
	clusterWaitNodeReady(t, cs, "bench")
	t.Logf("load average before: %s", clusterLoadAvg())

	ctx := context.Background()
	w, err := cs.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	running := clusterRunningTimes(w)

	var seq []time.Duration
	for i := range n {
		name := fmt.Sprintf("seq%d", i)
		t0 := time.Now()
		clusterCreateBenchPod(t, cs, name)
		seq = append(seq, (<-running.wait(name)).Sub(t0))
	}
	t.Logf("peapod sequential, %d pods: p50 %v p99 %v", n, clusterPct(seq, 0.5), clusterPct(seq, 0.99))
	clusterDeleteAllPods(t, s, cs)

	var mu sync.Mutex
	var bl []time.Duration
	var wg sync.WaitGroup
	c0 := cpu.read()
	start := time.Now()
	sem := make(chan struct{}, 16)
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			name := fmt.Sprintf("burst%d", i)
			ch := running.wait(name)
			t0 := time.Now()
			clusterCreateBenchPod(t, cs, name)
			<-sem
			d := (<-ch).Sub(t0)
			mu.Lock()
			bl = append(bl, d)
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("peapod burst of %d on one node: all Running after %v; per pod p50 %v p99 %v", burst, time.Since(start), clusterPct(bl, 0.5), clusterPct(bl, 0.99))
	t.Logf("burst CPU per pod: %s", cpu.read().perPod(c0, burst))
	t.Logf("load average after: %s", clusterLoadAvg())

	if os.Getenv("PEAPOD_BENCH_PODMAN") != "" {
		clusterPodmanBench(t, n, burst)
	}
}

func clusterWaitNodeReady(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if n, err := cs.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{}); err == nil {
			for _, c := range n.Status.Conditions {
				if c.Type == v1.NodeReady && c.Status == v1.ConditionTrue {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("node %s not Ready", name)
}

func clusterCreateBenchPod(t *testing.T, cs kubernetes.Interface, name string) {
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.PodSpec{
		NodeName:                     "bench",
		AutomountServiceAccountToken: new(bool),
		Containers:                   []v1.Container{{Name: "c", Image: "busybox", ImagePullPolicy: v1.PullIfNotPresent, Command: []string{"sleep", "3600"}}},
	}}
	if _, err := cs.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Error(err)
	}
}

// clusterRunning records when each pod was first seen Running with every
// container running.
type clusterRunning struct {
	mu      sync.Mutex
	seen    map[string]time.Time
	waiters map[string]chan time.Time
}

func clusterRunningTimes(w watch.Interface) *clusterRunning {
	r := &clusterRunning{seen: map[string]time.Time{}, waiters: map[string]chan time.Time{}}
	go func() {
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*v1.Pod)
			if !ok || p.Status.Phase != v1.PodRunning || len(p.Status.ContainerStatuses) == 0 {
				continue
			}
			all := true
			for _, c := range p.Status.ContainerStatuses {
				all = all && c.State.Running != nil
			}
			if !all {
				continue
			}
			now := time.Now()
			r.mu.Lock()
			if _, ok := r.seen[p.Name]; !ok {
				r.seen[p.Name] = now
				if ch, ok := r.waiters[p.Name]; ok {
					ch <- now
				}
			}
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *clusterRunning) wait(name string) <-chan time.Time {
	ch := make(chan time.Time, 1)
	r.mu.Lock()
	if at, ok := r.seen[name]; ok {
		ch <- at
	} else {
		r.waiters[name] = ch
	}
	r.mu.Unlock()
	return ch
}

func clusterPct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(p*float64(len(s)-1)+0.5)].Round(time.Millisecond)
}

func clusterLoadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return string(b[:min(len(b), 14)])
}

// clusterPodmanBench runs the same pods with `podman kube play` (which
// returns once the containers run) in a private root.
func clusterPodmanBench(t *testing.T, n, burst int) {
	if _, err := exec.LookPath("podman"); err != nil {
		t.Logf("podman not installed: no comparison")
		return
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "containers.conf")
	os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = []\n[engine]\nruntime = \"runc\"\n"), 0o644)
	pm := func(args ...string) *exec.Cmd {
		cmd := exec.Command("podman", append([]string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run")}, args...)...)
		cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+conf)
		return cmd
	}
	t.Cleanup(func() { pm("pod", "rm", "-a", "-f", "-t", "0").Run(); pm("system", "reset", "-f").Run() })
	if out, err := pm("load", "-q", "-i", busyboxImage(t)).CombinedOutput(); err != nil {
		t.Logf("podman load: %v %s", err, out)
		return
	}
	play := func(name string) time.Duration {
		f := filepath.Join(dir, name+".yaml")
		os.WriteFile(f, []byte(fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  containers:\n  - name: c\n    image: docker.io/library/busybox:latest\n    imagePullPolicy: Never\n    command: [sleep, \"3600\"]\n", name)), 0o644)
		t0 := time.Now()
		if out, err := pm("kube", "play", f).CombinedOutput(); err != nil {
			t.Logf("podman kube play: %v %s", err, out)
		}
		return time.Since(t0)
	}
	var seq []time.Duration
	for i := range n {
		seq = append(seq, play(fmt.Sprintf("seq%d", i)))
	}
	t.Logf("podman kube play sequential, %d pods: p50 %v p99 %v", n, clusterPct(seq, 0.5), clusterPct(seq, 0.99))
	pm("pod", "rm", "-a", "-f", "-t", "0").Run()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range burst {
		wg.Add(1)
		go func() { defer wg.Done(); play(fmt.Sprintf("burst%d", i)) }()
	}
	wg.Wait()
	t.Logf("podman burst of %d: all running after %v", burst, time.Since(start))
}

const clusterCPUAcct = "/sys/fs/cgroup/cpuacct"

// clusterBenchCPU accounts the CPU of a burst, whatever else runs on the
// machine: the server and the agent each go into their own cpuacct
// cgroup (the agent's children, conmon, runc create and the CNI plugins,
// inherit it); runc init and the containers are in the agent's pod
// cgroup parent.
type clusterBenchCPU struct {
	dirs []string // server, agent
	pids []int
	pods string
}

func (c *clusterBenchCPU) track(t *testing.T, name string, pid int) {
	dir := filepath.Join(clusterCPUAcct, fmt.Sprintf("peapod-bench-%s-%d", name, pid))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Logf("no CPU accounting: %v", err)
		return
	}
	c.dirs, c.pids = append(c.dirs, dir), append(c.pids, pid)
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		t.Logf("no CPU accounting for %s: %v", name, err)
	}
}

func clusterCPUUsage(dir string) time.Duration {
	b, _ := os.ReadFile(filepath.Join(dir, "cpuacct.usage"))
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return time.Duration(n)
}

// clusterCPUSample: server, agent cgroups, pods' cgroup, agent process
// alone, agent's reaped children (conmon launchers, CNI plugins).
type clusterCPUSample []time.Duration

// clusterProcCPU is a process's own CPU and its reaped children's.
func clusterProcCPU(pid int) (self, children time.Duration) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3
	if len(f) < 15 {
		return 0, 0
	}
	tick := func(k int) time.Duration {
		v, _ := strconv.ParseInt(f[k], 10, 64)
		return time.Duration(v) * 10 * time.Millisecond
	}
	return tick(11) + tick(12), tick(13) + tick(14) // utime stime cutime cstime (USER_HZ 100)
}

func (c *clusterBenchCPU) read() clusterCPUSample {
	var s clusterCPUSample
	for _, d := range c.dirs {
		s = append(s, clusterCPUUsage(d))
	}
	s = append(s, clusterCPUUsage(c.pods))
	if len(c.pids) == 2 {
		self, children := clusterProcCPU(c.pids[1])
		s = append(s, self, children)
	}
	return s
}

func (s clusterCPUSample) perPod(before clusterCPUSample, n int) string {
	if len(s) != 5 || len(before) != 5 {
		return "not measured"
	}
	d := func(i int) time.Duration { return (s[i] - before[i]) / time.Duration(n) }
	r := func(v time.Duration) string { return v.Round(100 * time.Microsecond).String() }
	return fmt.Sprintf("total %s = server %s + agent process %s + its reaped children (conmon launchers, CNI) %s + conmon, runc create %s + pod cgroups (runc init, containers) %s",
		r(d(0)+d(1)+d(2)), r(d(0)), r(d(3)), r(d(4)), r(d(1)-d(3)-d(4)), r(d(2)))
}

// remove moves what is left back to the root cgroup and removes ours.
func (c *clusterBenchCPU) remove() {
	for _, d := range c.dirs {
		b, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		for _, pid := range strings.Fields(string(b)) {
			os.WriteFile(filepath.Join(clusterCPUAcct, "cgroup.procs"), []byte(pid), 0o644)
		}
		for range 50 {
			if syscall.Rmdir(d) == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
