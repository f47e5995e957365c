package runc

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/peapod/peapod/internal/runtime/oci"
)

func TestNsexecFromSpec(t *testing.T) {
	base := func() *specs.Spec {
		return &specs.Spec{
			Process: &specs.Process{
				User: specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{2000}},
				Env:  []string{"PATH=/bin", "A=b"},
				Cwd:  "/work",
				Capabilities: &specs.LinuxCapabilities{
					Bounding: []string{"CAP_CHOWN", "CAP_KILL"}, Effective: []string{"CAP_CHOWN", "CAP_KILL"},
				},
				NoNewPrivileges: true,
			},
			Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.PIDNamespace}}},
		}
	}
	s, err := nsexecFromSpec(base(), []string{"cat", "/x"})
	if err != nil {
		t.Fatal(err)
	}
	if s.uid != 1000 || s.gid != 1001 || len(s.groups) != 1 || s.cwd != "/work" || !s.restrict.noNewPrivs ||
		len(s.envv) != 2+1 || len(s.args) != 2 || s.restrict.caps != 1<<unix.CAP_CHOWN|1<<unix.CAP_KILL {
		t.Errorf("plan: %+v", s)
	}
	empty := base()
	empty.Process.Cwd, empty.Process.Capabilities = "", nil
	if s, err := nsexecFromSpec(empty, []string{"true"}); err != nil || s.cwd != "/" || s.restrict.caps != 0 {
		t.Errorf("no cwd, no caps: %+v %v", s, err)
	}

	zero := 0
	mask := uint32(0o77)
	for name, mut := range map[string]func(*specs.Spec){
		"no process": func(s *specs.Spec) { s.Process = nil },
		"rlimits": func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1, Soft: 1}}
		},
		"apparmor":  func(s *specs.Spec) { s.Process.ApparmorProfile = "runtime/default" },
		"selinux":   func(s *specs.Spec) { s.Process.SelinuxLabel = "system_u:system_r:container_t:s0" },
		"oom score": func(s *specs.Spec) { s.Process.OOMScoreAdj = &zero },
		"umask":     func(s *specs.Spec) { s.Process.User.Umask = &mask },
		"ambient":   func(s *specs.Spec) { s.Process.Capabilities.Ambient = []string{"CAP_KILL"} },
		"seccomp":   func(s *specs.Spec) { s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActErrno} },
		"user namespace": func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		},
		"unknown cap": func(s *specs.Spec) {
			s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_NEW_THING")
		},
	} {
		sp := base()
		mut(sp)
		if _, err := nsexecFromSpec(sp, []string{"true"}); !errors.Is(err, errNsexecUnavailable) {
			t.Errorf("%s: %v, want the runc exec fallback", name, err)
		}
	}
}

func TestNsexecEnv(t *testing.T) {
	got, ok := nsexecEnv([]string{"PATH=/bin", "A=1", "junk", "", "A=2", "B=", "PATH=/usr/bin"})
	if want := []string{"junk", "A=2", "B=", "PATH=/usr/bin"}; !ok || !slices.Equal(got, want) {
		t.Errorf("nsexecEnv = %q, %v; want %q (last value of each name, in order)", got, ok, want)
	}
	if got, ok := nsexecEnv(nil); !ok || got == nil || len(got) != 0 {
		t.Errorf("no env: %q %v, want an empty one (not the agent's)", got, ok)
	}
	if _, ok := nsexecEnv([]string{"A=x\x00y"}); ok {
		t.Error("a NUL byte was accepted")
	}
	// Cross-check with os/exec, which the fast path used to start commands.
	env := []string{"X=1", "Y=2", "X=3", "=Z=4", "=Z=5", "W"}
	c := exec.Command("true")
	c.Env = env
	if got, _ := nsexecEnv(env); !slices.Equal(got, c.Environ()) {
		t.Errorf("nsexecEnv = %q, os/exec: %q", got, c.Environ())
	}
}

func TestNsexecCapNumbers(t *testing.T) {
	// Every capability the kernel has is named (privileged containers keep
	// them all in their bounding set).
	for c := uintptr(0); c <= nsexecLastCap(); c++ {
		name, ok := oci.CapabilityName(c)
		if n, known := oci.CapabilityNumber(name); !ok || !known || n != c {
			t.Errorf("capability %d has no name", c)
		}
	}
}

func TestCappedBufferReadFrom(t *testing.T) {
	b := &cappedBuffer{max: 5}
	n, err := io.Copy(b, strings.NewReader("hello, world"))
	if err != nil || n != 12 || string(b.Bytes()) != "hello" {
		t.Errorf("copy: %d %v %q", n, err, b.Bytes())
	}
	b = &cappedBuffer{max: 5}
	b.Write([]byte("abc"))
	b.Write([]byte("defg"))
	if string(b.Bytes()) != "abcde" {
		t.Errorf("writes: %q", b.Bytes())
	}
}

// TestCappedBufferReadFD: what the fast path reads from a pipe, in reads
// of whatever is there, keeps the first max bytes and drains the rest.
func TestCappedBufferReadFD(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	data := strings.Repeat("0123456789", 300)
	b := &cappedBuffer{max: 2500}
	for _, chunk := range []string{data[:7], data[7:1000], data[1000:]} {
		unix.Write(p[1], []byte(chunk))
		for n := 0; n < len(chunk); {
			l := b.buf.Len()
			if !b.readFD(p[0]) {
				t.Fatal("end of stream before the writer closed")
			}
			n += b.buf.Len() - l
			if b.buf.Len() == b.max {
				break
			}
		}
	}
	unix.Close(p[1])
	for b.readFD(p[0]) {
	}
	if string(b.Bytes()) != data[:2500] {
		t.Errorf("kept %d bytes, want the first 2500", b.buf.Len())
	}
	var empty cappedBuffer
	empty.max = 10
	if q := [2]int{}; unix.Pipe2(q[:], unix.O_CLOEXEC) == nil {
		unix.Close(q[1])
		if empty.readFD(q[0]) || empty.buf.Cap() != 0 {
			t.Error("an empty stream was not ended, or allocated")
		}
		unix.Close(q[0])
	}
}

// nsexecLookPath is the fast path's lookup (nsexecCandidates,
// nsexecFindIn) in this process's root, with the errors it makes.
func nsexecLookPath(name string, dirs []string, cwd string) (string, error) {
	cands, slash := nsexecCandidates(name, dirs, cwd)
	root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(root)
	c := &nsexecChild{cands: cands, slash: slash}
	found, step, lerr := nsexecFindIn(root, cands, slash)
	if step == nsexecStepNone {
		return cands[found].path, nil
	}
	c.failStep, c.failIndex = step, found
	st, err := nsexecChildFailure(&nsexecSpec{args: []string{name}}, c, lerr)
	if err != nil {
		return "", err
	}
	return "", st.execErr
}

// TestNsexecLookPath: the PATH search finds what filepath.Join(dir, name)
// and a stat would, as before and as runc exec does.
func TestNsexecLookPath(t *testing.T) {
	root := t.TempDir()
	for _, f := range []struct {
		path string
		mode os.FileMode
	}{{"a/cmd", 0o644}, {"b/cmd", 0o755}, {"b/dir/x", 0o755}, {"c/only", 0o700}} {
		p := filepath.Join(root, f.path)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, nil, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink(filepath.Join(root, "b"), filepath.Join(root, "link"))
	env := []string{"PATH=" + strings.Join([]string{"", "rel", root + "/a/", root + "//link/../a", root + "/b/dir",
		root + "/link", root + "/b", root + "/c/."}, ":")}
	dirs := nsexecPathDirs(env)
	for name, want := range map[string]string{
		"cmd":  root + "/link/cmd", // a/cmd is not executable; link/cmd comes before b/cmd
		"only": root + "/c/only",
		"dir":  "",
		"x":    root + "/b/dir/x",
		"..":   "",
		".":    "",
		"nope": "",
	} {
		got, err := nsexecLookPath(name, dirs, "/")
		if got != want || (want == "") != (err != nil) {
			t.Errorf("%q: %q %v, want %q", name, got, err, want)
		}
		if err != nil && err.Error() != `exec: "`+name+`": executable file not found in $PATH` {
			t.Errorf("%q: %v", name, err)
		}
		// What the search did before: filepath.Join and os.Stat per dir.
		ref := ""
		for _, dir := range strings.Split(strings.TrimPrefix(env[0], "PATH="), ":") {
			if p := filepath.Join(dir, name); filepath.IsAbs(dir) && executable(p) == nil {
				ref = p
				break
			}
		}
		if got != ref {
			t.Errorf("%q: %q, the former search found %q", name, got, ref)
		}
	}
	if len(nsexecPathDirs([]string{"PATH=/"})) != 1 || nsexecPathDirs([]string{"PATH=/"})[0] != "/" {
		t.Errorf("PATH=/: %q", nsexecPathDirs([]string{"PATH=/"}))
	}
	// With a slash: as is, relative to cwd; runc's messages.
	if got, err := nsexecLookPath("b/cmd", nil, root); got != "b/cmd" || err != nil {
		t.Errorf("b/cmd: %q %v", got, err)
	}
	if _, err := nsexecLookPath("./a/cmd", nil, root); err == nil || err.Error() != `exec: "./a/cmd": permission denied` {
		t.Errorf("./a/cmd: %v", err)
	}
	if _, err := nsexecLookPath("/nope/x", nil, root); err == nil || err.Error() != `exec: "/nope/x": stat /nope/x: no such file or directory` {
		t.Errorf("/nope/x: %v", err)
	}
}

func BenchmarkNsexecLookPath(b *testing.B) {
	dirs := nsexecPathDirs([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := nsexecLookPath("true", dirs, "/"); err != nil {
			b.Fatal(err)
		}
	}
}

// executable checks that p is a file (not a directory) with an execute
// bit, as runc does; its errors are os.Stat's, without os.Stat's FileInfo
// (it runs for each PATH directory on every exec).
func executable(p string) error {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return &os.PathError{Op: "stat", Path: p, Err: err}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR || st.Mode&0o111 == 0 {
		return os.ErrPermission
	}
	return nil
}

func TestNsexecAlive(t *testing.T) {
	self := os.Getpid()
	start, err := procStart(self)
	if err != nil {
		t.Fatal(err)
	}
	if !alive(self, start) || alive(self, start+1) || alive(1<<30, 0) {
		t.Error("alive disagrees with procStart")
	}
}

func TestNsexecCommandError(t *testing.T) {
	for err, want := range map[error]bool{
		&os.PathError{Op: "fork/exec", Path: "/x", Err: unix.ENOENT}:  true,
		&os.PathError{Op: "fork/exec", Path: "/x", Err: unix.EACCES}:  true,
		&os.PathError{Op: "fork/exec", Path: "/x", Err: unix.ENOEXEC}: true,
		&os.PathError{Op: "fork/exec", Path: "/x", Err: unix.ENOSYS}:  false, // no clone3: runc exec
		&os.PathError{Op: "fork/exec", Path: "/x", Err: unix.EBUSY}:   false,
		errors.New("other"): false,
	} {
		if got := nsexecCommandError(err); got != want {
			t.Errorf("nsexecCommandError(%v) = %v", err, got)
		}
	}
}

func TestNsexecTasksCandidates(t *testing.T) {
	for _, tc := range []struct {
		ctrls string
		want  []string
	}{
		{"memory", []string{"/sys/fs/cgroup/memory/p/c/tasks"}},
		{"name=systemd", []string{"/sys/fs/cgroup/systemd/p/c/tasks"}},
		{"cpu,cpuacct", []string{"/sys/fs/cgroup/cpu,cpuacct/p/c/tasks", "/sys/fs/cgroup/cpu/p/c/tasks", "/sys/fs/cgroup/cpuacct/p/c/tasks"}},
	} {
		got := nsexecTasksCandidates(tc.ctrls, "/p/c")
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: %q, want %q", tc.ctrls, got, tc.want)
		}
	}
}
