package runc

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startForWait starts sh -c script as the fast path does (pipes for
// stdout and stderr, a pidfd, its own session) and returns what
// nsexecWait takes.
func startForWait(t *testing.T, script string) (pid, pidfd int, pipes nsexecPipes) {
	t.Helper()
	pipes, err := openNsexecPipes()
	if err != nil {
		t.Fatal(err)
	}
	pidfd = -1
	pid, err = syscall.ForkExec("/bin/sh", []string{"sh", "-c", script}, &syscall.ProcAttr{
		Files: []uintptr{0, uintptr(pipes.stdout[1]), uintptr(pipes.stderr[1])},
		Sys:   &syscall.SysProcAttr{Setsid: true, PidFD: &pidfd},
	})
	pipes.closeWrite()
	if err != nil || pidfd < 0 {
		t.Fatalf("start: %v (pidfd %d)", err, pidfd)
	}
	return pid, pidfd, pipes
}

// nsexecWait collects both streams and the exit status while the
// goroutine waits in Go's poller, and bounds what a background child
// holding the pipes or a timeout can cost.
func TestNsexecWait(t *testing.T) {
	for _, tc := range []struct {
		name, script   string
		timeout        time.Duration
		stdout, stderr string
		code           int
		err            error
		atMost         time.Duration
	}{
		{name: "output and exit code", script: "echo out; echo err >&2; exit 3", stdout: "out\n", stderr: "err\n", code: 3, atMost: 5 * time.Second},
		{name: "large output on both streams", script: "i=0; while [ $i -lt 2000 ]; do echo 0123456789012345678901234567890123456789; echo abcdefghijabcdefghijabcdefghij >&2; i=$((i+1)); done",
			code: 0, atMost: 5 * time.Second},
		{name: "killed by a signal", script: "kill -KILL $$", code: 128 + 9, atMost: 5 * time.Second},
		{name: "background child holds the pipes", script: "echo out; sleep 30 & exit 0", stdout: "out\n", code: 0, atMost: nsexecWaitDelay + 4*time.Second},
		{name: "timeout", script: "echo started; sleep 30", timeout: time.Second, stdout: "started\n", code: -1, err: context.DeadlineExceeded, atMost: 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			pid, pidfd, pipes := startForWait(t, tc.script)
			defer syscall.Kill(-pid, syscall.SIGKILL) // the background sleep
			start := time.Now()
			res, err := nsexecWait(ctx, "sh", pid, pidfd, pipes)
			if took := time.Since(start); took > tc.atMost {
				t.Errorf("took %v, want at most %v", took, tc.atMost)
			}
			if !errors.Is(err, tc.err) || (err != nil) != (tc.err != nil) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if res.ExitCode != tc.code {
				t.Errorf("exit code %d, want %d", res.ExitCode, tc.code)
			}
			if tc.name == "large output on both streams" {
				if len(res.Stdout) != 2000*41 || len(res.Stderr) != 2000*31 || !strings.HasPrefix(string(res.Stderr), "abcdefghij") {
					t.Errorf("got %d bytes of stdout, %d of stderr", len(res.Stdout), len(res.Stderr))
				}
				return
			}
			if string(res.Stdout) != tc.stdout || string(res.Stderr) != tc.stderr {
				t.Errorf("stdout %q stderr %q, want %q %q", res.Stdout, res.Stderr, tc.stdout, tc.stderr)
			}
		})
	}
}
