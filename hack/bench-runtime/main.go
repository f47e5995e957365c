// Command bench-runtime measures the runtime driver: sandbox + one busybox
// container started (p50/p99 over -n runs), teardown, and a burst of
// -burst pods started concurrently. It prints a markdown table row set.
// Run as root: go run ./hack/bench-runtime -image busybox.tar
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/image"
	"github.com/peapod/peapod/internal/runtime"
	"github.com/peapod/peapod/internal/runtime/runc"
)

func main() {
	imagePath := flag.String("image", "", "busybox docker-archive")
	n := flag.Int("n", 50, "sequential runs")
	burst := flag.Int("burst", 100, "pods started concurrently")
	bridge := flag.String("bridge", "ppbench0", "bridge name")
	cidr := flag.String("cidr", "10.77.250.0/24", "pod CIDR")
	noMasq := flag.Bool("no-masq", false, "disable ipMasq")
	warm := flag.Int("warm", 0, "warm sandboxes (runc.Config.WarmSandboxes)")
	label := flag.String("label", "peapod", "row label")
	hold := flag.Duration("hold", 0, "keep the burst's pods this long before tearing them down (to inspect the host)")
	flag.Parse()
	cpu, err := newCPUMeter("peapod-bench")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-runtime: cpu accounting off:", err)
	}
	defer cpu.close()
	if err := run(*label, *imagePath, *n, *burst, *bridge, *cidr, *noMasq, *warm, *hold, cpu); err != nil {
		fmt.Fprintln(os.Stderr, "bench-runtime:", err)
		os.Exit(1)
	}
}

type phases struct{ sandbox, create, start, total, teardown time.Duration }

func run(label, imagePath string, n, burst int, bridge, cidr string, noMasq bool, warm int, hold time.Duration, cpu *cpuMeter) error {
	ctx := context.Background()
	dataDir, err := os.MkdirTemp("", "peapod-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)
	images, err := image.Open(filepath.Join(dataDir, "images"))
	if err != nil {
		return err
	}
	f, err := os.Open(imagePath)
	if err != nil {
		return err
	}
	imgs, err := images.Import(ctx, f)
	f.Close()
	if err != nil {
		return err
	}
	d, err := runc.New(runc.Config{Logf: func(f string, a ...any) {
		if os.Getenv("TRACE") != "" {
			fmt.Fprintf(os.Stderr, f+"\n", a...)
		}
	}, DataDir: dataDir, Images: images, Bridge: bridge, PodCIDR: cidr, CgroupParent: "peapod-bench", DisableIPMasq: noMasq, WarmSandboxes: warm})
	if err != nil {
		return err
	}
	defer d.Prune(ctx)
	time.Sleep(time.Duration(warm) * 100 * time.Millisecond) // let the pool fill
	startPod := func(i int) (string, phases, error) {
		var p phases
		t0 := time.Now()
		uid := fmt.Sprintf("bench-%d-%d", i, t0.UnixNano())
		sb, err := d.RunPodSandbox(ctx, &runtime.SandboxConfig{Name: fmt.Sprintf("bench-%d", i), Namespace: "default", UID: uid, Hostname: fmt.Sprintf("bench-%d", i),
			LogDirectory: filepath.Join(dataDir, "pods", uid)})
		if err != nil {
			return "", p, err
		}
		t1 := time.Now()
		c, err := d.CreateContainer(ctx, sb, &runtime.ContainerConfig{Spec: v1.Container{Name: "c", Image: "busybox", Command: []string{"sleep", "3600"}}, ImageRef: imgs[0].ID})
		if err != nil {
			return sb, p, err
		}
		t2 := time.Now()
		if err := d.StartContainer(ctx, c); err != nil {
			return sb, p, err
		}
		t3 := time.Now()
		p.sandbox, p.create, p.start, p.total = t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t3.Sub(t0)
		return sb, p, nil
	}
	var all []phases
	if n < 1 {
		n = 1
	}
	for i := 0; i < n; i++ {
		sb, p, err := startPod(i)
		if err != nil {
			return err
		}
		t0 := time.Now()
		if err := d.StopPodSandbox(ctx, sb); err != nil {
			return err
		}
		if err := d.RemovePodSandbox(ctx, sb); err != nil {
			return err
		}
		p.teardown = time.Since(t0)
		time.Sleep(20 * time.Millisecond) // a pod every ~100ms, as a node sees them
		all = append(all, p)
	}
	pct := func(get func(phases) time.Duration, q float64) time.Duration {
		v := make([]time.Duration, len(all))
		for i, p := range all {
			v[i] = get(p)
		}
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
		return v[int(q*float64(len(v)-1)+0.5)].Round(100 * time.Microsecond)
	}
	for _, row := range []struct {
		name string
		get  func(phases) time.Duration
	}{
		{"sandbox (RunPodSandbox)", func(p phases) time.Duration { return p.sandbox }},
		{"container create", func(p phases) time.Duration { return p.create }},
		{"container start", func(p phases) time.Duration { return p.start }},
		{"pod start total", func(p phases) time.Duration { return p.total }},
		{"teardown (stop+remove)", func(p phases) time.Duration { return p.teardown }},
	} {
		fmt.Printf("| %s %s | %v | %v |\n", label, row.name, pct(row.get, 0.5), pct(row.get, 0.99))
	}
	if burst > 0 {
		var wg sync.WaitGroup
		errs := make(chan error, burst)
		sbs := make([]string, burst)
		c0 := cpu.read()
		fmt.Fprintf(os.Stderr, "burst start, CLOCK_MONOTONIC %s\n", monotonic())
		t0 := time.Now()
		for i := 0; i < burst; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sb, _, err := startPod(1000 + i)
				sbs[i] = sb
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		el := time.Since(t0)
		fmt.Fprintf(os.Stderr, "burst end, CLOCK_MONOTONIC %s\n", monotonic())
		c1 := cpu.read()
		close(errs)
		for err := range errs {
			return err
		}
		fmt.Printf("| %s %d pods burst | %v total | %v per pod |\n", label, burst, el.Round(time.Millisecond), (el / time.Duration(burst)).Round(100*time.Microsecond))
		if cpu != nil {
			fmt.Printf("| %s %d pods burst, CPU per pod | %s |\n", label, burst, c1.sub(c0).perPod(burst))
		}
		pss, procs := runtimePSS(dataDir, "peapod-bench")
		fmt.Printf("| %s host memory per pod (PSS of %d conmon/catatonit processes / %d pods) | %.2f MiB | |\n", label, procs, burst, float64(pss)/float64(burst)/1024)
		if hold > 0 {
			fmt.Fprintf(os.Stderr, "holding %d pods for %v (data dir %s)\n", burst, hold, dataDir)
			time.Sleep(hold)
		}
		t1 := time.Now()
		for _, sb := range sbs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.RemovePodSandbox(ctx, sb)
			}()
		}
		wg.Wait()
		fmt.Printf("| %s %d pods teardown burst | %v total | |\n", label, burst, time.Since(t1).Round(time.Millisecond))
	}
	return nil
}

// runtimePSS sums the proportional set size (KiB) of the runtime's own
// processes: conmon (its argv names dataDir) and catatonit (in the
// driver's cgroup parent).
func runtimePSS(dataDir, cgroupParent string) (kib int64, n int) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		cg, _ := os.ReadFile("/proc/" + e.Name() + "/cgroup")
		c := string(cmd)
		isConmon := strings.HasPrefix(c, "/usr/bin/conmon") && strings.Contains(c, dataDir)
		isInfra := strings.HasPrefix(c, "/catatonit") && strings.Contains(string(cg), "/"+cgroupParent+"/")
		if !isConmon && !isInfra {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/smaps_rollup")
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "Pss:" {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				kib += v
				n++
			}
		}
	}
	return kib, n
}
