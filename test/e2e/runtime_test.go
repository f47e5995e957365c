package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/image"
	"github.com/peapod/peapod/internal/runtime"
	"github.com/peapod/peapod/internal/runtime/runc"
)

// runtimeSubnetSeq hands each runtime test its own bridge and subnet
// (10.77.<n>.0/24), so tests never share network state.
var runtimeSubnetSeq atomic.Int32

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
func runtimeNewEnv(t *testing.T) *runtimeEnv {
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
			PodCIDR:      fmt.Sprintf("10.77.%d.0/24", 100+n),
			CgroupParent: "peapod-rt-" + tag,
		},
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

// runtimeHostState is what a pod could leave on the host.
type runtimeHostState struct {
	mounts    map[string]bool // mount points under the data dir, and nsfs mounts
	links     map[string]bool
	chains    map[string]bool // iptables nat/filter CNI chains and rules
	procs     map[string]bool // conmon and catatonit processes
	cgroups   map[string]bool
	dataFiles []string
}

func runtimeSnapshot(t *testing.T, dataDir string) runtimeHostState {
	t.Helper()
	s := runtimeHostState{mounts: map[string]bool{}, links: map[string]bool{}, chains: map[string]bool{}, procs: map[string]bool{}, cgroups: map[string]bool{}}
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 {
				continue
			}
			mp := fs[4]
			typ := ""
			for i, x := range fs {
				if x == "-" && i+1 < len(fs) {
					typ = fs[i+1]
				}
			}
			if strings.HasPrefix(mp, dataDir) || typ == "nsfs" {
				s.mounts[mp+" ("+typ+")"] = true
			}
		}
		f.Close()
	}
	if ents, err := os.ReadDir("/sys/class/net"); err == nil {
		for _, e := range ents {
			s.links[e.Name()] = true
		}
	}
	for _, table := range []string{"nat", "filter"} {
		out, _ := exec.Command("iptables", "-w", "-t", table, "-S").Output()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "CNI") {
				s.chains[table+": "+l] = true
			}
		}
	}
	if ents, err := os.ReadDir("/proc"); err == nil {
		for _, e := range ents {
			if _, err := strconv.Atoi(e.Name()); err != nil {
				continue
			}
			b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			if err != nil {
				continue
			}
			cmd := strings.ReplaceAll(string(b), "\x00", " ")
			if strings.Contains(cmd, "conmon") || strings.Contains(cmd, "catatonit") {
				s.procs[e.Name()+" "+cmd] = true
			}
		}
	}
	for _, h := range []string{"memory", "cpu", "pids", "devices", "freezer", "unified", "systemd", "blkio", "cpuset", "cpuacct"} {
		root := filepath.Join("/sys/fs/cgroup", h)
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			s.cgroups[p] = true
			return nil
		})
	}
	rt := filepath.Join(dataDir, "runtime")
	filepath.WalkDir(rt, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(rt, p)
		// host-local keeps its lock and last-reserved bookmark.
		if strings.HasPrefix(rel, "cni/ipam/") && (strings.HasSuffix(rel, "/lock") || strings.Contains(rel, "last_reserved_ip")) {
			return nil
		}
		s.dataFiles = append(s.dataFiles, rel)
		return nil
	})
	sort.Strings(s.dataFiles)
	return s
}

func runtimeNew(before, after map[string]bool) []string {
	var out []string
	for k := range after {
		if !before[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// runtimeLeakCheck snapshots the host and returns a func that fails the
// test if anything a pod could leave (mounts under dataDir, nsfs mounts,
// network links, iptables CNI chains, conmon/catatonit processes, cgroups,
// files under dataDir/runtime) appeared since. Call it after teardown.
func runtimeLeakCheck(t *testing.T, dataDir string) func() {
	t.Helper()
	before := runtimeSnapshot(t, dataDir)
	return func() {
		t.Helper()
		var after runtimeHostState
		// conmon exits a few ms after writing the exit file; give stragglers a moment.
		for i := 0; i < 50; i++ {
			after = runtimeSnapshot(t, dataDir)
			if len(runtimeNew(before.procs, after.procs)) == 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		for what, leaked := range map[string][]string{
			"mounts":    runtimeNew(before.mounts, after.mounts),
			"links":     runtimeNew(before.links, after.links),
			"iptables":  runtimeNew(before.chains, after.chains),
			"processes": runtimeNew(before.procs, after.procs),
			"cgroups":   runtimeNew(before.cgroups, after.cgroups),
			"files":     after.dataFiles,
		} {
			if len(leaked) > 0 {
				t.Errorf("leaked %s:\n  %s", what, strings.Join(leaked, "\n  "))
			}
		}
	}
}

func TestRuntimeTwoContainersShareNetworkIPCAndHostname(t *testing.T) {
	e := runtimeNewEnv(t)
	cfg := e.sandboxConfig("twins")
	cfg.HostAliases = []v1.HostAlias{{IP: "10.1.2.3", Hostnames: []string{"foo.local", "bar.local"}}}
	sb := e.runPod(cfg)
	st, err := e.d.PodSandboxStatus(context.Background(), sb)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != runtime.SandboxReady || !strings.HasPrefix(st.IP, "10.77.") {
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
	if cs.ExitCode != 3 || cs.Reason != "Error" || time.Since(start) > 5*time.Second {
		t.Errorf("stopped client: exit %d reason %s", cs.ExitCode, cs.Reason)
	}
	if err := e.d.RemovePodSandbox(context.Background(), sb); err != nil {
		t.Fatal(err)
	}
}
