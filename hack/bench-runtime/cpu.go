package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cpuMeter accounts the CPU a burst costs, independent of how long other
// load on the machine makes it take: the benchmark moves itself into its
// own cpuacct cgroup, which its children (conmon, runc, CNI plugins)
// inherit; runc moves container processes into the driver's cgroup
// parent, accounted separately.
type cpuMeter struct {
	own, pods string // cpuacct cgroup dirs
}

type cpuSample struct {
	own, pods      time.Duration // cpuacct.usage
	self, children time.Duration // getrusage
}

const cpuacct = "/sys/fs/cgroup/cpuacct"

func newCPUMeter(podParent string) (*cpuMeter, error) {
	own := filepath.Join(cpuacct, fmt.Sprintf("peapod-bench-runtime-%d", os.Getpid()))
	if err := os.Mkdir(own, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(own, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		unix.Rmdir(own)
		return nil, err
	}
	return &cpuMeter{own: own, pods: filepath.Join(cpuacct, podParent)}, nil
}

// close moves the benchmark back to the root cgroup and removes its own
// (once its last child, a daemonized conmon, has exited).
func (m *cpuMeter) close() {
	if m == nil {
		return
	}
	os.WriteFile(filepath.Join(cpuacct, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	for range 50 {
		if unix.Rmdir(m.own) == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "bench-runtime: cgroup %s still busy\n", m.own)
}

func usage(dir string) time.Duration {
	b, err := os.ReadFile(filepath.Join(dir, "cpuacct.usage"))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return time.Duration(n)
}

func rusage(who int) time.Duration {
	var ru unix.Rusage
	unix.Getrusage(who, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (m *cpuMeter) read() cpuSample {
	if m == nil {
		return cpuSample{}
	}
	return cpuSample{
		own: usage(m.own), pods: usage(m.pods),
		self: rusage(unix.RUSAGE_SELF), children: rusage(unix.RUSAGE_CHILDREN),
	}
}

func (s cpuSample) sub(o cpuSample) cpuSample {
	return cpuSample{s.own - o.own, s.pods - o.pods, s.self - o.self, s.children - o.children}
}

// perPod: total = the benchmark's cgroup (driver, its children, conmon,
// runc create/start, CNI, runc init until it joins the container cgroup)
// + the pods' cgroups (runc init from then on, catatonit, the container).
func (s cpuSample) perPod(n int) string {
	d := func(v time.Duration) string { return (v / time.Duration(n)).Round(100 * time.Microsecond).String() }
	return fmt.Sprintf("total %s = driver %s + reaped children (runc start, CNI, conmon launcher) %s + other (conmon, runc create) %s + pod cgroups (runc init, catatonit, sleep) %s",
		d(s.own+s.pods), d(s.self), d(s.children), d(s.own-s.self-s.children), d(s.pods))
}

// monotonic is CLOCK_MONOTONIC as perf record -k CLOCK_MONOTONIC stamps
// its samples (for perf report --time).
func monotonic() string {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return fmt.Sprintf("%d.%06d", ts.Sec, ts.Nsec/1000)
}
