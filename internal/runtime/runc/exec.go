package runc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/peapod/peapod/internal/runtime"
)

// maxExecOutput caps what ExecSync keeps of each stream.
const maxExecOutput = 16 << 20

// cappedBuffer keeps the first max bytes written to it and discards the
// rest. Only Write and ReadFrom reach it (bytes.Buffer's other writers,
// which would not keep the cap, are not promoted).
type cappedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// ReadFrom is what os/exec's pipe copy uses: no 32 KiB copy buffer per
// stream.
func (b *cappedBuffer) ReadFrom(r io.Reader) (int64, error) {
	n, err := b.buf.ReadFrom(io.LimitReader(r, int64(max(b.max-b.buf.Len(), 0))))
	if err != nil {
		return n, err
	}
	m, err := io.Copy(io.Discard, r)
	return n + m, err
}

func (b *cappedBuffer) Bytes() []byte { return b.buf.Bytes() }

func (d *Driver) runningContainer(id string) (containerMeta, error) {
	c, err := d.getContainer(id)
	if err != nil {
		return containerMeta{}, err
	}
	st, err := d.containerStatus(c)
	if err != nil {
		return containerMeta{}, err
	}
	if st.State != runtime.ContainerRunning {
		return containerMeta{}, fmt.Errorf("container %q is %s, not running: %w", c.meta().Name, st.State, runtime.ErrInvalidState)
	}
	return c.meta(), nil
}

// runningForExec is runningContainer for ExecSync (every exec probe): a
// started container whose process the fast exec path has cached is
// running while that process has not exited, which its pidfd tells in
// one poll (nsexecCache.running) instead of a stat of the exit file
// (conmon writes it only once the process has exited) and a read of
// /proc/<pid>/stat. Anything else gets the full status.
func (d *Driver) runningForExec(id string) (containerMeta, error) {
	if c, err := d.getContainer(id); err == nil {
		m := c.meta()
		if m.Started && m.StartError == "" && nsexecProcs.running(nsexecKey{id: m.ID, pid: m.PID, start: m.PIDStart}) {
			return m, nil
		}
	}
	return d.runningContainer(id)
}

// execCommand prepares `runc exec` for cmd in container id; the process
// gets the container's environment, user, cwd and capabilities.
func (d *Driver) execCommand(id string, pidFile string, extra []string, cmd []string) *exec.Cmd {
	args := []string{"--root", d.dirs.runcRoot, "exec", "--pid-file", pidFile}
	args = append(args, extra...)
	args = append(args, id)
	args = append(args, cmd...)
	return exec.Command(d.cfg.RuncPath, args...)
}

func (d *Driver) execPidFile() string {
	return filepath.Join(d.dirs.socks, "exec-"+newID()[:12]+".pid")
}

// killExec kills the exec'd process (recorded in pidFile) and runc.
func killExec(pidFile string, runc *exec.Cmd) {
	if b, err := os.ReadFile(pidFile); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			unix.Kill(pid, unix.SIGKILL)
		}
	}
	if runc.Process != nil {
		runc.Process.Kill()
	}
}

// ExecSync runs cmd in the container and collects its output; at
// timeout (0: none beyond ctx) the process is killed. It takes the fast
// path (nsexec.go: the agent enters the container itself) and falls back
// to `runc exec` when that cannot be set up.
func (d *Driver) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (*runtime.ExecResult, error) {
	if len(cmd) == 0 {
		return nil, errors.New("exec: empty command")
	}
	m, err := d.runningForExec(id)
	if err != nil {
		return nil, err
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if !nsexecVforkSupported {
		return d.runcExecSync(ctx, id, cmd)
	}
	res, err := d.nsexecSync(ctx, m, cmd)
	if !errors.Is(err, errNsexecUnavailable) {
		return res, err
	}
	d.cfg.Logf("runtime: exec in container %s through runc exec: %v", m.Name, err)
	return d.runcExecSync(ctx, id, cmd)
}

// runcExecSync runs cmd through `runc exec`, killed when ctx is done.
func (d *Driver) runcExecSync(ctx context.Context, id string, cmd []string) (*runtime.ExecResult, error) {
	pidFile := d.execPidFile()
	defer os.Remove(pidFile)
	c := d.execCommand(id, pidFile, nil, cmd)
	stdout := &cappedBuffer{max: maxExecOutput}
	stderr := &cappedBuffer{max: maxExecOutput}
	c.Stdout, c.Stderr = stdout, stderr
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-ctx.Done():
		killExec(pidFile, c)
		<-done
		return &runtime.ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: -1},
			fmt.Errorf("exec %q: %w", cmd[0], ctx.Err())
	}
	res := &runtime.ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var ee *exec.ExitError
	switch {
	case werr == nil:
	case errors.As(werr, &ee):
		res.ExitCode = ee.ExitCode()
	default:
		return nil, fmt.Errorf("exec: %w", werr)
	}
	return res, nil
}

// Exec runs cmd with streams. With TTY, see execTTY; resize events set
// the terminal's window size.
func (d *Driver) Exec(ctx context.Context, id string, cmd []string, s runtime.Streams) (int, error) {
	if len(cmd) == 0 {
		return -1, errors.New("exec: empty command")
	}
	if _, err := d.runningContainer(id); err != nil {
		return -1, err
	}
	pidFile := d.execPidFile()
	defer os.Remove(pidFile)
	if s.TTY {
		return d.execTTY(ctx, id, pidFile, cmd, s)
	}
	c := d.execCommand(id, pidFile, nil, cmd)
	c.Stdout, c.Stderr = s.Stdout, s.Stderr
	if c.Stdout == nil {
		c.Stdout = io.Discard
	}
	if c.Stderr == nil {
		c.Stderr = io.Discard
	}
	var stdin io.WriteCloser
	if s.Stdin != nil {
		var err error
		if stdin, err = c.StdinPipe(); err != nil {
			return -1, err
		}
	}
	if err := c.Start(); err != nil {
		return -1, fmt.Errorf("exec: %w", err)
	}
	if stdin != nil {
		// Not waited for: the client may never close its stdin.
		go func() {
			io.Copy(stdin, s.Stdin)
			stdin.Close()
		}()
	}
	return waitExec(ctx, c, pidFile)
}

func waitExec(ctx context.Context, c *exec.Cmd, pidFile string) (int, error) {
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err == nil {
			return 0, nil
		}
		if errors.As(err, &ee) {
			return ee.ExitCode(), nil
		}
		return -1, err
	case <-ctx.Done():
		killExec(pidFile, c)
		<-done
		return -1, ctx.Err()
	}
}

// execTTY runs a non-detached `runc exec --tty`: runc insists on a
// terminal as its own stdio (it copies between it and the container's
// pty and forwards SIGWINCH), so we give it the slave of a pty we own and
// copy the streams to and from the master.
func (d *Driver) execTTY(ctx context.Context, id, pidFile string, cmd []string, s runtime.Streams) (int, error) {
	master, slave, err := openPty()
	if err != nil {
		return -1, fmt.Errorf("exec tty: %w", err)
	}
	defer master.Close()
	extra := []string{"--tty"}
	// A size the client sent before the start is the pty's size before
	// the command runs: on our pty (runc copies it to the container's at
	// once) and in the process spec (runc sizes the container's pty before
	// it execs). A resize after the start would race a command that reads
	// the size at once (`stty size`).
	select {
	case sz, ok := <-s.Resize:
		if ok {
			unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: sz.Height, Col: sz.Width})
			procFile, err := d.execProcessFile(id, pidFile, cmd, sz)
			if err != nil {
				slave.Close()
				return -1, fmt.Errorf("exec tty: %w", err)
			}
			defer os.Remove(procFile)
			extra, cmd = append(extra, "--process", procFile), nil
		}
	default:
	}
	c := d.execCommand(id, pidFile, extra, cmd)
	c.Stdin, c.Stdout, c.Stderr = slave, slave, slave
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := c.Start(); err != nil {
		slave.Close()
		return -1, fmt.Errorf("exec: %w", err)
	}
	slave.Close()
	go func() {
		if s.Resize == nil {
			return
		}
		for sz := range s.Resize {
			unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: sz.Height, Col: sz.Width})
			if c.Process != nil {
				c.Process.Signal(unix.SIGWINCH)
			}
		}
	}()
	if s.Stdin != nil {
		go io.Copy(master, s.Stdin)
	}
	var wg sync.WaitGroup
	if out := s.Stdout; out != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			io.Copy(out, master)
		}()
	}
	code, err := waitExec(ctx, c, pidFile)
	// Drain what the pty still holds, briefly.
	waitTimeout(&wg, 200*time.Millisecond)
	return code, err
}

// execProcessFile writes the process `runc exec --process` runs: the
// container's own (as runc exec takes it from config.json) with cmd, a
// terminal and its initial size.
func (d *Driver) execProcessFile(id, pidFile string, cmd []string, sz remotecommand.TerminalSize) (string, error) {
	var spec struct {
		Process *specs.Process `json:"process"`
	}
	if err := readJSON(filepath.Join(d.dirs.containers, id, "config.json"), &spec); err != nil {
		return "", err
	}
	if spec.Process == nil {
		return "", errors.New("container spec has no process")
	}
	p := spec.Process
	p.Args, p.Terminal = cmd, true
	p.ConsoleSize = &specs.Box{Height: uint(sz.Height), Width: uint(sz.Width)}
	path := strings.TrimSuffix(pidFile, ".pid") + ".process.json"
	return path, writeJSON(path, p)
}

// openPty opens a new pseudo-terminal pair.
func openPty() (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("ptsname: %w", err)
	}
	sl, err := os.OpenFile("/dev/pts/"+strconv.FormatUint(uint64(n), 10), os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, sl, nil
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}
