// Command bench-apiserver measures the peapod API server on embedded etcd:
// pod create latency at N concurrent clients, watch delivery latency,
// LIST of all pods and the server's RSS with them stored.
//
//	go build -o bin/peapod ./cmd/peapod
//	go run ./hack/bench-apiserver --peapod bin/peapod --pods 10000 --concurrency 100
//
// By default the creates are a closed loop: every client sends its next
// create as soon as the previous one is answered, so the figure is the
// server's saturation throughput and, by Little's law, a mean latency of
// clients/throughput. --rate N makes it an open loop instead: the clients
// share a schedule of N creates per second and each create's latency is
// measured from its scheduled send time, so a server (or client pool) that
// falls behind shows up in the latency rather than hiding in a lower
// sending rate (no coordinated omission).
//
//	go run ./hack/bench-apiserver --peapod bin/peapod --pods 10000 --concurrency 100 --rate 1000
//
// Watch delivery is timed at one decoding watcher, from each create's
// acknowledgement to its event's arrival (0 when the event comes first);
// should the server end that watch, it resumes from its last
// resourceVersion as informers do and the report counts it. --watchers N
// adds N watches that read their streams undecoded, to load the server's
// fan-out rather than this process.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	bin := flag.String("peapod", "bin/peapod", "peapod binary")
	pods := flag.Int("pods", 10000, "pods to create")
	conc := flag.Int("concurrency", 100, "concurrent clients")
	rate := flag.Float64("rate", 0, "creates per second shared by all clients (open loop, latency from the scheduled send time); 0 sends as fast as the server answers (closed loop)")
	lists := flag.Int("lists", 5, "LIST repetitions")
	watchers := flag.Int("watchers", 0, "extra pod watchers during the creates (they only read their events), as the informers of a cluster's components")
	kubeconfig := flag.String("kubeconfig", "", "use this running server instead of starting one (RSS then needs --pid)")
	pid := flag.Int("pid", 0, "pid of the running server (with --kubeconfig)")
	serverFlags := flag.String("server-flags", "--disable-scheduler --disable-controllers", "extra flags of the started server (the API server alone by default)")
	flag.Parse()
	if err := run(*bin, *kubeconfig, strings.Fields(*serverFlags), *pid, *pods, *conc, *lists, *watchers, *rate); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p)
	return s[i]
}

// cpuTime is the user+system CPU time the process used so far (from
// /proc/<pid>/stat, in clock ticks of 10 ms); -1 if unknown.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The fields after the command name, which is in parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// loadAvg is the 1, 5 and 15 minute load average: figures from a shared
// machine mean little without it.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func rssMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}

func run(bin, kubeconfig string, serverFlags []string, pid, n, conc, lists, watchers int, rate float64) error {
	dir, err := os.MkdirTemp("", "peapod-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if kubeconfig == "" {
		port := freePort()
		args := append([]string{"server", "--data-dir", dir, "--secure-port", strconv.Itoa(port), "--bind-address", "127.0.0.1", "--disable-agent"}, serverFlags...)
		cmd := exec.Command(bin, args...)
		logf, _ := os.Create(filepath.Join(dir, "server.log"))
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			return err
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		kubeconfig = filepath.Join(dir, "admin.kubeconfig")
		pid = cmd.Process.Pid
	}
	var cs *kubernetes.Clientset
	for i := 0; ; i++ {
		if cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig); err == nil {
			cfg.QPS, cfg.Burst = -1, 0
			cs = kubernetes.NewForConfigOrDie(cfg)
			if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "default", metav1.GetOptions{}); err == nil {
				break
			}
		}
		if i > 300 {
			return fmt.Errorf("server did not start; see %s", filepath.Join(dir, "server.log"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	ctx := context.Background()
	// ServiceAccount admission needs the namespace's "default"
	// ServiceAccount; without controllers (the default here) nothing makes it.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if _, err := cs.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the default ServiceAccount: %w", err)
	}
	pods := cs.CoreV1().Pods("default")
	fmt.Printf("machine: %d-core, load average %s, server RSS at start %.0f MB\n", numCPU(), loadAvg(), rssMB(pid))

	// Extra watchers: each event is then sent to 1+watchers watches. They
	// read the raw stream without decoding it, so that they load the
	// server, not this process.
	for i := 0; i < watchers; i++ {
		body, err := cs.CoreV1().RESTClient().Get().Namespace("default").Resource("pods").Param("watch", "true").Stream(ctx)
		if err != nil {
			return err
		}
		defer body.Close()
		go io.Copy(io.Discard, body)
	}

	// Watch: delivery latency from the create's acknowledgement.
	acked := sync.Map{}
	w, err := pods.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var (
		arrived   = make(map[string]time.Time, n) // pod name: its event's arrival
		rewatches int                             // the server ended the watch; it resumed, as client-go does
		stopped   bool
		watchMu   sync.Mutex
	)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		seen, last := 0, ""
		for {
			ev, ok := <-w.ResultChan()
			if !ok {
				watchMu.Lock()
				done := stopped
				watchMu.Unlock()
				if done {
					return
				}
				// Resume from the last event seen, as an informer does.
				nw, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: last})
				if err != nil {
					fmt.Fprintln(os.Stderr, "re-watch:", err)
					return
				}
				watchMu.Lock()
				w, rewatches = nw, rewatches+1
				watchMu.Unlock()
				continue
			}
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			last = p.ResourceVersion
			// Only note the arrival: a watcher that waited here for
			// the create's response would fall behind by itself.
			watchMu.Lock()
			if _, dup := arrived[p.Name]; !dup {
				arrived[p.Name] = time.Now()
			}
			watchMu.Unlock()
			seen++
			if seen == n {
				return
			}
		}
	}()

	var mu sync.Mutex
	var createLat []time.Duration
	var errs int
	// Each job carries its scheduled send time (zero in the closed loop).
	type job struct {
		i   int
		due time.Time
	}
	jobs := make(chan job, n)
	var wg sync.WaitGroup
	cpu0 := cpuTime(pid)
	start := time.Now()
	var late time.Duration // paced: the largest delay between schedule and send
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%05d", j.i), Labels: map[string]string{"app": "bench"}},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox", Command: []string{"sleep", "3600"}}}}}
				t0 := time.Now()
				if !j.due.IsZero() {
					if d := time.Until(j.due); d > 0 {
						time.Sleep(d)
					}
					t0 = j.due // latency includes any wait for a free client
				}
				sent := time.Now()
				_, err := pods.Create(ctx, pod, metav1.CreateOptions{})
				d := time.Since(t0)
				acked.Store(pod.Name, time.Now())
				mu.Lock()
				if err != nil {
					errs++
				} else {
					createLat = append(createLat, d)
				}
				if !j.due.IsZero() && sent.Sub(j.due) > late {
					late = sent.Sub(j.due)
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		j := job{i: i}
		if rate > 0 {
			j.due = start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		}
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	total := time.Since(start)
	cpu := cpuTime(pid) - cpu0
	select {
	case <-watchDone:
	case <-time.After(30 * time.Second):
	}
	watchMu.Lock()
	stopped = true
	w.Stop()
	watchMu.Unlock()
	mode := "closed loop"
	if rate > 0 {
		mode = fmt.Sprintf("open loop at %.0f/s, latency from the scheduled send, max send delay %v", rate, late.Round(time.Millisecond))
	}
	fmt.Printf("create %d pods, %d clients (%s): %.0f/s, p50 %v, p99 %v, max %v, errors %d\n", n, conc, mode, float64(n)/total.Seconds(),
		pct(createLat, .5).Round(time.Microsecond*100), pct(createLat, .99).Round(time.Microsecond*100), pct(createLat, 1).Round(time.Millisecond), errs)
	// CPU per create depends less on what else runs on the machine than
	// latency does: compare it between builds on a busy machine.
	fmt.Printf("server CPU during the creates: %v, %.0f µs per create\n", cpu.Round(10*time.Millisecond), float64(cpu.Microseconds())/float64(n))
	watchMu.Lock()
	ended := rewatches
	// Delivery latency: arrival after the create's acknowledgement (0 when
	// the event beat the response).
	var watchLat []time.Duration
	for name, at := range arrived {
		if v, ok := acked.Load(name); ok {
			watchLat = append(watchLat, max(at.Sub(v.(time.Time)), 0))
		}
	}
	watchMu.Unlock()
	fmt.Printf("watch delivery after ack (%d events): p50 %v, p99 %v, max %v; watch ended by the server %d times\n", len(watchLat),
		pct(watchLat, .5).Round(time.Microsecond*100), pct(watchLat, .99).Round(time.Microsecond*100), pct(watchLat, 1).Round(time.Millisecond), ended)

	// Watch delivery at a steady rate: one label patch every 10 ms, timed
	// from the request's start to the MODIFIED event at a watcher.
	if err := pacedWatch(ctx, pods, 300); err != nil {
		return err
	}

	for _, rv := range []string{"", "0"} {
		var listLat []time.Duration
		items := 0
		for i := 0; i < lists; i++ {
			t0 := time.Now()
			l, err := pods.List(ctx, metav1.ListOptions{ResourceVersion: rv})
			if err != nil {
				return err
			}
			listLat = append(listLat, time.Since(t0))
			items = len(l.Items)
		}
		fmt.Printf("LIST %d pods (resourceVersion=%q): median %v, max %v\n", items, rv, pct(listLat, .5).Round(time.Millisecond), pct(listLat, 1).Round(time.Millisecond))
	}
	fmt.Printf("server RSS with %d pods: %.0f MB (load average %s)\n", n, rssMB(pid), loadAvg())
	return nil
}

func pacedWatch(ctx context.Context, pods typedPods, n int) error {
	list, err := pods.List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil || len(list.Items) == 0 {
		return fmt.Errorf("paced watch: no pod to patch: %v", err)
	}
	name := list.Items[0].Name
	w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name, ResourceVersion: list.ResourceVersion})
	if err != nil {
		return err
	}
	defer w.Stop()
	var lat []time.Duration
	for i := 0; i < n; i++ {
		t0 := time.Now()
		patch := fmt.Sprintf(`{"metadata":{"labels":{"seq":"%d"}}}`, i)
		if _, err := pods.Patch(ctx, name, "application/merge-patch+json", []byte(patch), metav1.PatchOptions{}); err != nil {
			return err
		}
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && p.Labels["seq"] == strconv.Itoa(i) {
				lat = append(lat, time.Since(t0))
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("watch delivery, 1 update per 10 ms (request start -> event, %d events): p50 %v, p99 %v\n", len(lat),
		pct(lat, .5).Round(time.Microsecond*100), pct(lat, .99).Round(time.Microsecond*100))
	return nil
}

type typedPods = typedcorev1.PodInterface
