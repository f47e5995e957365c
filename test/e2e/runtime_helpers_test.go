// Helpers of the runtime e2e tests (runtime_test.go). The agent tests
// reuse runtimeLeakCheck, runtimeSubnetSeq and runtimeTestCIDR.

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/peapod/peapod/internal/image"
	"github.com/peapod/peapod/internal/runtime"
	"github.com/peapod/peapod/internal/runtime/runc"
)

// runtimeSubnetSeq hands each runtime test its own bridge and subnet
// (see runtimeTestCIDR), so tests never share network state.
var runtimeSubnetSeq atomic.Int32

// runtimeTestCIDR is a pod CIDR unique to this test process and n:
// 10.<78..177>.<n>.0/24 with the second octet from the PID, so that
// concurrent `go test` processes on the host do not share a subnet.
func runtimeTestCIDR(n int32) string {
	return fmt.Sprintf("10.%d.%d.0/24", 78+os.Getpid()%100, n%250)
}

// runtimeEnv is one driver on a fresh data dir with the busybox image.
type runtimeEnv struct {
	t       *testing.T
	dataDir string
	cfg     runc.Config
	d       *runc.Driver
	images  *image.Store
	imageID string
}

// runtimeNewEnv builds a driver with a unique bridge, subnet and cgroup
// parent, imports busybox, and registers a cleanup that removes every
// sandbox, the bridge and the data dir, then checks for leaks.
func runtimeNewEnv(t *testing.T, opts ...func(*runc.Config)) *runtimeEnv {
	t.Helper()
	n := runtimeSubnetSeq.Add(1)
	dataDir, err := os.MkdirTemp("", "peapod-rt-")
	if err != nil {
		t.Fatal(err)
	}
	check := runtimeLeakCheck(t, dataDir)
	images, err := image.Open(filepath.Join(dataDir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(busyboxImage(t))
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := images.Import(context.Background(), f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("%d%d", os.Getpid()%1000, n)
	e := &runtimeEnv{
		t: t, dataDir: dataDir, images: images, imageID: imgs[0].ID,
		cfg: runc.Config{
			DataDir:      dataDir,
			Images:       images,
			Bridge:       "pprt" + tag,
			PodCIDR:      runtimeTestCIDR(n),
			CgroupParent: "peapod-rt-" + tag,
		},
	}
	for _, o := range opts {
		o(&e.cfg)
	}
	e.d = e.newDriver()
	t.Cleanup(func() {
		ctx := context.Background()
		sbs, _ := e.d.ListPodSandboxes(ctx)
		for _, sb := range sbs {
			if err := e.d.RemovePodSandbox(ctx, sb.ID); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		if err := e.d.Prune(ctx); err != nil {
			t.Errorf("prune: %v", err)
		}
		check()
		os.RemoveAll(dataDir)
	})
	return e
}

func (e *runtimeEnv) newDriver() *runc.Driver {
	e.t.Helper()
	d, err := runc.New(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *runtimeEnv) sandboxConfig(name string) *runtime.SandboxConfig {
	uid := fmt.Sprintf("uid-%s-%d", name, time.Now().UnixNano())
	return &runtime.SandboxConfig{
		Name: name, Namespace: "default", UID: uid, Hostname: name,
		LogDirectory: filepath.Join(e.dataDir, "pods", "default_"+name+"_"+uid),
		DNS:          runtime.DNSConfig{Servers: []string{"10.96.0.10"}, Searches: []string{"default.svc.cluster.local"}, Options: []string{"ndots:5"}},
	}
}

func (e *runtimeEnv) runPod(cfg *runtime.SandboxConfig) string {
	e.t.Helper()
	id, err := e.d.RunPodSandbox(context.Background(), cfg)
	if err != nil {
		e.t.Fatalf("RunPodSandbox: %v", err)
	}
	return id
}

func (e *runtimeEnv) create(sb string, c v1.Container) string {
	e.t.Helper()
	if c.Image == "" {
		c.Image = "busybox"
	}
	id, err := e.d.CreateContainer(context.Background(), sb, &runtime.ContainerConfig{Spec: c, ImageRef: e.imageID})
	if err != nil {
		e.t.Fatalf("CreateContainer %s: %v", c.Name, err)
	}
	return id
}

func (e *runtimeEnv) start(sb string, c v1.Container) string {
	e.t.Helper()
	id := e.create(sb, c)
	if err := e.d.StartContainer(context.Background(), id); err != nil {
		e.t.Fatalf("StartContainer %s: %v", c.Name, err)
	}
	return id
}

// exec runs cmd in the container and returns its stdout; a non-zero exit
// fails the test.
func (e *runtimeEnv) exec(id string, cmd ...string) string {
	e.t.Helper()
	res, err := e.d.ExecSync(context.Background(), id, cmd, 10*time.Second)
	if err != nil {
		e.t.Fatalf("exec %v: %v", cmd, err)
	}
	if res.ExitCode != 0 {
		e.t.Fatalf("exec %v: exit %d: %s%s", cmd, res.ExitCode, res.Stdout, res.Stderr)
	}
	return string(res.Stdout)
}

// waitExited waits for the container to exit and returns its status.
func (e *runtimeEnv) waitExited(id string, timeout time.Duration) *runtime.ContainerStatus {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, err := e.d.ContainerStatus(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		if st.State == runtime.ContainerExited {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("container %s still %s after %v", st.Name, st.State, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func runtimeSleeper(name string) v1.Container {
	return v1.Container{Name: name, Command: []string{"sleep", "3600"}}
}

// runtimeLeaks lists what the runtime driver on dataDir left on the host:
// mounts under dataDir; its bridge, iptables rules naming its network or
// pod CIDR, processes under its cgroup parent or running from dataDir
// (conmon, catatonit), the cgroup parent itself, and files under
// dataDir/runtime other than driver.json and host-local's bookkeeping. It
// is scoped to that driver (runtime/driver.json), so tests running in
// parallel on the host do not disturb it.
func runtimeLeaks(dataDir string) map[string][]string {
	leaks := map[string][]string{}
	add := func(what, s string) { leaks[what] = append(leaks[what], s) }
	var owned struct{ Bridge, PodCIDR, NetworkName, CgroupParent string }
	if b, err := os.ReadFile(filepath.Join(dataDir, "runtime", "driver.json")); err == nil {
		json.Unmarshal(b, &owned)
	}
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fs := strings.Fields(sc.Text()); len(fs) > 4 && strings.HasPrefix(fs[4], dataDir+"/") {
				add("mounts", fs[4])
			}
		}
		f.Close()
	}
	if owned.Bridge != "" {
		if _, err := os.Stat(filepath.Join("/sys/class/net", owned.Bridge)); err == nil {
			ports, _ := os.ReadDir(filepath.Join("/sys/class/net", owned.Bridge, "brif"))
			add("links", fmt.Sprintf("bridge %s (%d ports)", owned.Bridge, len(ports)))
		}
	}
	if owned.NetworkName != "" {
		// The masquerade rule and portmap's rules name the CNI network
		// (the CIDR alone could be another process's with the same one).
		for _, table := range []string{"nat", "filter"} {
			out, _ := exec.Command("iptables", "-w", "-t", table, "-S").Output()
			for _, l := range strings.Split(string(out), "\n") {
				if strings.Contains(l, `"`+owned.NetworkName+`"`) || strings.Contains(l, " "+owned.NetworkName+`"`) {
					add("iptables", table+": "+l)
				}
			}
		}
	}
	if ents, err := os.ReadDir("/proc"); err == nil {
		for _, e := range ents {
			if _, err := strconv.Atoi(e.Name()); err != nil {
				continue
			}
			cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			cg, _ := os.ReadFile("/proc/" + e.Name() + "/cgroup")
			if strings.Contains(string(cmd), dataDir+"/") ||
				owned.CgroupParent != "" && strings.Contains(string(cg), ":/"+owned.CgroupParent+"/") {
				if st, _ := os.ReadFile("/proc/" + e.Name() + "/stat"); strings.Contains(string(st), ") Z ") {
					continue // exited, waiting for PID 1 to reap it
				}
				add("processes", e.Name()+" "+strings.ReplaceAll(string(cmd), "\x00", " "))
			}
		}
	}
	if owned.CgroupParent != "" {
		hs, _ := os.ReadDir("/sys/fs/cgroup")
		for _, h := range hs {
			p := filepath.Join("/sys/fs/cgroup", h.Name(), owned.CgroupParent)
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				add("cgroups", p)
			}
		}
	}
	rt := filepath.Join(dataDir, "runtime")
	filepath.WalkDir(rt, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(rt, p)
		if rel == "driver.json" || strings.HasPrefix(rel, "cni/ipam/") && (strings.HasSuffix(rel, "/lock") || strings.Contains(rel, "last_reserved_ip")) {
			return nil
		}
		add("files", rel)
		return nil
	})
	return leaks
}

// runtimeLeakCheck returns a func that fails the test if the runtime on
// dataDir left anything on the host (see runtimeLeaks). Call it after
// teardown, including removing the node-level bridge, masquerade rule and
// cgroup parent (runc.Driver.Prune). It retries briefly: conmon exits a
// few milliseconds after writing its exit file.
func runtimeLeakCheck(t *testing.T, dataDir string) func() {
	t.Helper()
	return func() {
		t.Helper()
		var leaks map[string][]string
		for i := 0; i < 250; i++ {
			if leaks = runtimeLeaks(dataDir); len(leaks) == 0 {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		kinds := make([]string, 0, len(leaks))
		for k := range leaks {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			t.Errorf("leaked %s:\n  %s", k, strings.Join(leaks[k], "\n  "))
		}
	}
}

// runtimeHostNS names the host's namespace of kind ns, read from a thread
// of this process (/proc/self is the main thread, which the Go runtime
// may have parked inside a pod's network namespace).
func runtimeHostNS(ns string) string {
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	s, _ := os.Readlink("/proc/thread-self/ns/" + ns)
	return s
}

// runtimeWarmIDs lists the sandboxes on disk that callers cannot see
// (the warm pool), waiting up to 10s for the pool to fill.
func runtimeWarmIDs(t *testing.T, e *runtimeEnv) []string {
	t.Helper()
	for i := 0; i < 500; i++ {
		visible := map[string]bool{}
		sbs, _ := e.d.ListPodSandboxes(context.Background())
		for _, sb := range sbs {
			visible[sb.ID] = true
		}
		var warm []string
		ents, _ := os.ReadDir(filepath.Join(e.dataDir, "runtime", "sandboxes"))
		for _, ent := range ents {
			var m struct{ Pooled, Ready bool }
			b, _ := os.ReadFile(filepath.Join(e.dataDir, "runtime", "sandboxes", ent.Name(), "meta.json"))
			json.Unmarshal(b, &m)
			if !visible[ent.Name()] && m.Pooled && m.Ready {
				warm = append(warm, ent.Name())
			}
		}
		if len(warm) >= e.cfg.WarmSandboxes {
			return warm
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// runtimeSyncBuffer is a goroutine-safe bytes.Buffer.
type runtimeSyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *runtimeSyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *runtimeSyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func resourceMust(s string) resource.Quantity { return resource.MustParse(s) }
