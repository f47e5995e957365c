package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"

	"github.com/peapod/peapod/internal/scheduler"
)

// TestSchedulerThroughput measures pods bound per second through the real
// API server with simulated nodes (Node objects only). It runs only when
// PEAPOD_BENCH_SCHEDULER lists node counts, e.g.
//
//	PEAPOD_BENCH_SCHEDULER=1000,5000 PEAPOD_BENCH_PODS=5000 go test ./test/e2e -run TestSchedulerThroughput -v
//
// The server runs with --disable-scheduler; the scheduler under test runs
// in this process (same code as in the server, protobuf client, leader
// election off) and starts after the nodes and pending pods exist, so the
// figure is scheduling alone: from the scheduler's start (informer sync
// included) and from its first binding to the last pod seen bound through
// a watch.
func TestSchedulerThroughput(t *testing.T) {
	spec := os.Getenv("PEAPOD_BENCH_SCHEDULER")
	if spec == "" {
		t.Skip("set PEAPOD_BENCH_SCHEDULER=1000,5000 to run the scheduler benchmark")
	}
	pods := 5000
	if v := os.Getenv("PEAPOD_BENCH_PODS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		pods = n
	}
	for _, f := range strings.Split(spec, ",") {
		nodes, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprintf("nodes=%d", nodes), func(t *testing.T) { schedBench(t, nodes, pods) })
	}
}

func schedBenchClient(t *testing.T, s *apiServer) *kubernetes.Clientset {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.QPS, cfg.Burst = 10000, 20000
	return kubernetes.NewForConfigOrDie(cfg)
}

// schedParallel runs f(0..n-1) on workers goroutines, failing on the first error.
func schedParallel(t *testing.T, n, workers int, f func(i int) error) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

func schedBench(t *testing.T, nodes, pods int) {
	s := apiStart(t, "--disable-scheduler")
	cs := schedBenchClient(t, s)
	ctx := context.Background()

	start := time.Now()
	schedParallel(t, nodes, 64, func(i int) error {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("sim-%05d", i),
			Labels: map[string]string{"kubernetes.io/hostname": fmt.Sprintf("sim-%05d", i)}}}
		n, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		res := corev1.ResourceList{}
		for k, v := range map[corev1.ResourceName]string{"cpu": "32", "memory": "128Gi", "pods": "110"} {
			res[k] = schedQuantity(v)
		}
		now := metav1.Now()
		n.Status.Capacity, n.Status.Allocatable = res, res
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now}}
		_, err = cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
	t.Logf("%d nodes created in %v", nodes, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	schedParallel(t, pods, 64, func(i int) error {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%05d", i), Namespace: "default", Labels: map[string]string{"app": "bench"}}}
		p.Spec.Containers = []corev1.Container{{Name: "c", Image: "busybox", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{"cpu": schedQuantity("100m"), "memory": schedQuantity("64Mi")}}}}
		_, err := cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
		return err
	})
	t.Logf("%d pending pods created in %v", pods, time.Since(start).Round(time.Millisecond))

	// Bindings are observed through an informer (it re-lists if the
	// server ends the watch under load).
	var mu sync.Mutex
	bound := map[string]string{}
	var first, last time.Time
	allBound := make(chan struct{})
	seen := func(obj any) {
		p, ok := obj.(*corev1.Pod)
		if !ok || p.Spec.NodeName == "" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if bound[p.Name] != "" {
			return
		}
		bound[p.Name] = p.Spec.NodeName
		last = time.Now()
		if first.IsZero() {
			first = last
		}
		if len(bound) == pods {
			close(allBound)
		}
	}
	factory := informers.NewSharedInformerFactoryWithOptions(schedBenchClient(t, s), 0, informers.WithNamespace("default"))
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: seen, UpdateFunc: func(_, o any) { seen(o) }}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer func() { close(stop); factory.Shutdown() }()
	factory.Start(stop)
	factory.WaitForCacheSync(stop)

	schedCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	schedStart := time.Now()
	opts := scheduler.Options{}
	if v := os.Getenv("PEAPOD_BENCH_BINDERS"); v != "" {
		opts.Binders, _ = strconv.Atoi(v)
	}
	if os.Getenv("PEAPOD_BENCH_NO_EVENTS") != "" {
		// Diagnostic: bindings only, no Scheduled events.
		opts.Recorder = &record.FakeRecorder{}
	}
	profiled := make(chan struct{})
	if out := os.Getenv("PEAPOD_BENCH_SERVER_PROFILE"); out != "" {
		// A 5 s CPU profile of the server while it takes the bindings.
		go func() {
			defer close(profiled)
			code, body := s.raw("GET", "/debug/pprof/profile?seconds=5", "", nil, s.token())
			if code != 200 {
				t.Errorf("server profile: %d %s", code, body)
				return
			}
			if err := os.WriteFile(out, body, 0o644); err != nil {
				t.Error(err)
			}
		}()
	} else {
		close(profiled)
	}
	defer func() { <-profiled }()
	go func() { done <- scheduler.New(schedBenchClient(t, s), opts).Run(schedCtx) }()
	defer func() {
		cancel()
		<-done
	}()

	select {
	case <-allBound:
	case <-time.After(5 * time.Minute):
		mu.Lock()
		t.Fatalf("only %d of %d pods bound in 5 min", len(bound), pods)
	}
	mu.Lock()
	defer mu.Unlock()
	perNode := map[string]int{}
	maxPer := 0
	for _, n := range bound {
		perNode[n]++
		maxPer = max(maxPer, perNode[n])
	}
	total := last.Sub(schedStart)
	steady := last.Sub(first)
	t.Logf("RESULT nodes=%d pods=%d: %.0f pods/s from the first binding (%v), %.0f pods/s from the scheduler's start incl. informer sync (%v); %d nodes used, at most %d pods on one",
		nodes, pods, float64(pods-1)/steady.Seconds(), steady.Round(time.Millisecond), float64(pods)/total.Seconds(), total.Round(time.Millisecond), len(perNode), maxPer)
}

func schedQuantity(s string) resource.Quantity { return resource.MustParse(s) }
