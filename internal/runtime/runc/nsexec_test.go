package runc

import (
	"errors"
	"io"
	"os"
	"os/exec"
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
		len(s.env) != 2 || len(s.args) != 2 || s.restrict.caps != 1<<unix.CAP_CHOWN|1<<unix.CAP_KILL {
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
	last := uintptr(0)
	for c := uintptr(0); c < 64; c++ {
		if _, _, e := unix.Syscall6(unix.SYS_PRCTL, unix.PR_CAPBSET_READ, c, 0, 0, 0, 0); e != 0 {
			break
		}
		last = c
	}
	for c := uintptr(0); c <= last; c++ {
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
