package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestAgentMemBench measures a standalone `peapod agent --server` (joined
// to a `peapod server --disable-agent`): RSS and its make-up (smaps_rollup
// anonymous/file, the Go heap and goroutines from the agent's
// /debug/pprof) idle, then with PEAPOD_BENCH_AGENTMEM busybox `sleep` pods
// (default service account token, as ordinary pods), after they settle.
// PEAPOD_BENCH_AGENTMEM_ARGS adds agent flags; GOMEMLIMIT/GOGC in the
// environment reach the agent.
//
//	PEAPOD_BENCH_AGENTMEM=110 go test ./test/e2e -run TestAgentMemBench -v
func TestAgentMemBench(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PEAPOD_BENCH_AGENTMEM"))
	if n <= 0 {
		t.Skip("set PEAPOD_BENCH_AGENTMEM=110 to run the agent memory benchmark")
	}
	settle := 40 * time.Second // the agent releases its unused executable pages 30 s after start
	if v, err := time.ParseDuration(os.Getenv("PEAPOD_BENCH_AGENTMEM_SETTLE")); err == nil {
		settle = v
	}
	s := apiStart(t)
	cs := s.clientset()
	a := clusterStartAgent(t, s, "memb", "")
	// The agent runs from its own copy of the binary, as on a node of its
	// own: pages of a file the server maps too would count in both.
	a.stop()
	a.args = append(a.args, strings.Fields(os.Getenv("PEAPOD_BENCH_AGENTMEM_ARGS"))...)
	agentmemStartPrivate(t, a)
	t.Cleanup(func() { clusterDeleteAllPods(t, s, cs) })
	clusterWaitNodeReady(t, cs, "memb")
	token, err := os.ReadFile(filepath.Join(s.dataDir, "node-token"))
	if err != nil {
		t.Fatal(err)
	}
	m := &agentmemProbe{a: a, token: strings.TrimSpace(string(token))}

	time.Sleep(settle)
	t.Logf("idle: %s; load average %s", m.sample(t), clusterLoadAvg())

	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			agentmemCreatePod(t, cs, fmt.Sprintf("mem%d", i))
		}()
	}
	wg.Wait()
	agentmemWaitRunning(t, cs, n, 5*time.Minute)
	t.Logf("%d pods Running in %v; load average %s", n, time.Since(start).Round(time.Millisecond), clusterLoadAvg())
	t.Logf("%d pods, just started: %s", n, m.sample(t))
	cpu0, t0 := m.cpuTicks(), time.Now()
	time.Sleep(settle)
	cpu := float64(m.cpuTicks()-cpu0) / 100 / time.Since(t0).Seconds() * 100 // USER_HZ 100
	t.Logf("%d pods, settled %v: %s; agent CPU %.1f%% of one core; load average %s", n, settle, m.sample(t), cpu, clusterLoadAvg())
	if dir := os.Getenv("PEAPOD_BENCH_AGENTMEM_PROFILE"); dir != "" {
		os.WriteFile(filepath.Join(dir, "agent-heap.pprof"), []byte(m.get(t, "/debug/pprof/heap")), 0o644)
		os.WriteFile(filepath.Join(dir, "agent-allocs.pprof"), []byte(m.get(t, "/debug/pprof/allocs")), 0o644)
		os.WriteFile(filepath.Join(dir, "agent-goroutines.txt"), []byte(m.get(t, "/debug/pprof/goroutine?debug=1")), 0o644)
	}
}

// agentmemStartPrivate starts a's process from a private copy of the
// peapod binary.
func agentmemStartPrivate(t *testing.T, a *clusterAgent) {
	bin := filepath.Join(t.TempDir(), "peapod-agent")
	b, err := os.ReadFile(peapodBin)
	if err != nil {
		t.Fatal(err)
	}
	// Written back at once, as an installed binary is: the kernel does not
	// reclaim dirty pages on the agent's MADV_PAGEOUT.
	f, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err == nil {
		_, err = f.Write(b)
		err = errors.Join(err, f.Sync(), f.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	cmd := exec.Command(bin, a.args...)
	cmd.Stdout, cmd.Stderr = &lockedWriter{mu: &a.mu, w: &a.log}, &lockedWriter{mu: &a.mu, w: &a.log}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a.cmd = cmd
}

func agentmemCreatePod(t *testing.T, cs kubernetes.Interface, name string) {
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.PodSpec{
		NodeName:                      "memb",
		TerminationGracePeriodSeconds: new(int64),
		Containers:                    []v1.Container{{Name: "c", Image: "busybox", ImagePullPolicy: v1.PullIfNotPresent, Command: []string{"sleep", "3600"}}},
	}}
	if _, err := cs.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Error(err)
	}
}

func agentmemWaitRunning(t *testing.T, cs kubernetes.Interface, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	running := 0
	for time.Now().Before(deadline) {
		l, err := cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{})
		if err == nil {
			running = 0
			for _, p := range l.Items {
				if p.Status.Phase == v1.PodRunning {
					running++
				}
			}
			if running >= n {
				return
			}
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("%d of %d pods Running after %v", running, n, timeout)
}

// agentmemProbe reads an agent's memory figures.
type agentmemProbe struct {
	a     *clusterAgent
	token string
}

func (m *agentmemProbe) sample(t *testing.T) string {
	m.a.mu.Lock()
	pid := m.a.cmd.Process.Pid
	m.a.mu.Unlock()
	st := agentmemFields(fmt.Sprintf("/proc/%d/status", pid), ":")
	sm := agentmemFields(fmt.Sprintf("/proc/%d/smaps_rollup", pid), ":")
	anon, rss := sm["Anonymous"], sm["Rss"]
	out := fmt.Sprintf("RSS %s (anon %s, file %s), peak %s, threads %s",
		agentmemMB(rss), agentmemMB(anon), agentmemMB(rss-anon), agentmemMB(st["VmHWM"]), strconv.FormatInt(st["Threads"], 10))
	heap := m.get(t, "/debug/pprof/heap?debug=1")
	ms := map[string]int64{}
	for _, l := range strings.Split(heap, "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(l, "# "), " = "); ok {
			f, _ := strconv.ParseInt(strings.Fields(v + " 0")[0], 10, 64)
			ms[k] = f
		}
	}
	out += fmt.Sprintf("; Go heap in use %s, heap idle-released %s, stacks %s, runtime sys %s, GCs %d",
		agentmemMB(ms["HeapInuse"]/1024), agentmemMB((ms["HeapIdle"]-ms["HeapReleased"])/1024), agentmemMB(ms["Stack"]/1024),
		agentmemMB(ms["Sys"]/1024), ms["NumGC"])
	g := m.get(t, "/debug/pprof/goroutine?debug=1")
	first, _, _ := strings.Cut(g, "\n")
	return out + "; " + first
}

// cpuTicks is the agent's user+system time in clock ticks.
func (m *agentmemProbe) cpuTicks() int64 {
	m.a.mu.Lock()
	pid := m.a.cmd.Process.Pid
	m.a.mu.Unlock()
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

func (m *agentmemProbe) get(t *testing.T, path string) string {
	port := ""
	for i, a := range m.a.args {
		if a == "--port" && i+1 < len(m.a.args) {
			port = m.a.args[i+1]
		}
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	req, _ := http.NewRequest("GET", "https://127.0.0.1:"+port+path, nil)
	req.Header.Set("Authorization", "Bearer "+m.token)
	resp, err := c.Do(req)
	if err != nil {
		t.Logf("GET %s: %v", path, err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// agentmemFields reads "Key:  123 kB" lines as kB (or plain counts).
func agentmemFields(path, sep string) map[string]int64 {
	out := map[string]int64{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if !ok {
			continue
		}
		if fs := strings.Fields(v); len(fs) > 0 {
			n, _ := strconv.ParseInt(fs[0], 10, 64)
			out[k] = n
		}
	}
	return out
}

// agentmemMB formats kB as MB.
func agentmemMB(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }
