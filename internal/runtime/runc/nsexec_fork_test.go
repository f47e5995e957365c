package runc

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// forkTestChild is a child that runs sh -c script from dir as uid/gid
// 0, without cgroups to join, in this process's namespaces.
func forkTestChild(t *testing.T, path, dir string, script string) *nsexecChild {
	t.Helper()
	self, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(self) })
	s := &nsexecSpec{args: []string{path, "-c", script}, cwd: dir, proc: &nsexecEntry{pidfd: self, unified: -1},
		restrict: nsexecRestrict{caps: 1 << unix.CAP_CHOWN, noNewPrivs: true}}
	s.dropCaps = nsexecDropCaps(s.restrict.caps)
	if s.envv, err = syscall.SlicePtrFromStrings([]string{"GREETING=hello", "PATH=/usr/bin:/bin"}); err != nil {
		t.Fatal(err)
	}
	s.proc.nofile = &unix.Rlimit{Cur: 1000, Max: 2000}
	c, err := s.child()
	if err != nil {
		t.Fatal(err)
	}
	c.found = 0 // path, not looked up
	if c.exec, err = unix.BytePtrFromString(path); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestNsexecFork runs the fast path's fork (without the exec thread and
// cgroups): the command gets stdio, cwd, env, the open-files limit, a
// session of its own and no other descriptor; a failing step is reported
// with its errno and the child is reaped.
func TestNsexecFork(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (setgroups)")
	}
	sh, err := lookSh()
	if err != nil {
		t.Skip(err)
	}
	devnull, err := nsexecDevNull()
	if err != nil {
		t.Fatal(err)
	}
	// A descriptor without close-on-exec must not reach the command.
	leak, err := unix.Open(os.DevNull, unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(leak)

	pipes, err := openNsexecPipes()
	if err != nil {
		t.Fatal(err)
	}
	c := forkTestChild(t, sh, "/tmp", `echo "$GREETING $(pwd) $(ulimit -Sn) $(ulimit -Hn)"; ls /proc/self/fd | sort -n | tr '\n' ' ' >&2; grep -E '^(CapBnd|NoNewPrivs)' /proc/self/status | tr -d '\t' >&2; cut -d' ' -f6 /proc/$$/stat | grep -qx $$ && exit 3`)
	c.stdio = [3]int{devnull, pipes.stdout[1], pipes.stderr[1]}
	pid, pidfd, err := nsexecFork(c, -1)
	pipes.closeWrite()
	if err != nil {
		pipes.closeRead()
		t.Fatalf("nsexecFork: %v (step %v)", err, c.failStep)
	}
	res, err := nsexecWait(context.Background(), "sh", pid, pidfd, pipes)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(res.Stdout), "hello /tmp 1000 2000\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	// 0-2, and 3 for the directory ls reads; only CAP_CHOWN (0) left.
	if got, want := strings.TrimSpace(string(res.Stderr)), "0 1 2 3 CapBnd:0000000000000001\nNoNewPrivs:1"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	if res.ExitCode != 3 {
		t.Errorf("exit %d, want 3 (a session leader)", res.ExitCode)
	}

	for _, tc := range []struct {
		path, dir string
		step      nsexecStep
		errno     syscall.Errno
	}{
		{sh, "/no/such/dir", nsexecStepChdir, unix.ENOENT},
		{"/no/such/sh", "/", nsexecStepExec, unix.ENOENT},
		{"/tmp", "/", nsexecStepExec, unix.EACCES},
	} {
		c := forkTestChild(t, tc.path, tc.dir, "true")
		c.stdio = [3]int{devnull, devnull, devnull}
		_, _, err := nsexecFork(c, -1)
		if c.failErrno != tc.errno || c.failStep != tc.step || !errors.Is(err, tc.errno) {
			t.Errorf("%s in %s: %v at step %q, want %v at %q", tc.path, tc.dir, err, c.failStep, tc.errno, tc.step)
		}
	}
	// Failed children are reaped.
	if _, err := unix.Wait4(-1, nil, unix.WNOHANG, nil); !errors.Is(err, unix.ECHILD) {
		t.Errorf("a child is left unreaped: %v", err)
	}
}

func lookSh() (string, error) {
	for _, p := range []string{"/bin/sh", "/usr/bin/sh"} {
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", errors.New("no sh")
}
