package runc

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/peapod/peapod/internal/runtime"
)

// How the fast exec path collects a command it started: without os/exec,
// whose Cmd costs a goroutine per captured stream, one for Wait and their
// stacks' growth per exec. The calling goroutine alone polls the command's
// stdout and stderr pipes and its pidfd, reads what is ready and reaps the
// command when it exits; a timeout is a context.AfterFunc, which costs a
// goroutine only when it fires.

// nsexecPipes are the command's stdout and stderr: read ends kept by the
// agent, write ends given to the child as its fds 1 and 2. All are
// close-on-exec, so no other child of the agent inherits a write end and
// keeps the stream open.
type nsexecPipes struct {
	stdout, stderr [2]int // [0] read end, [1] write end; -1 once closed
}

// openNsexecPipes makes both pipes.
func openNsexecPipes() (nsexecPipes, error) {
	p := nsexecPipes{stdout: [2]int{-1, -1}, stderr: [2]int{-1, -1}}
	if err := unix.Pipe2(p.stdout[:], unix.O_CLOEXEC); err != nil {
		return p, fmt.Errorf("stdout pipe: %w", err)
	}
	if err := unix.Pipe2(p.stderr[:], unix.O_CLOEXEC); err != nil {
		p.closeRead()
		p.closeWrite()
		return p, fmt.Errorf("stderr pipe: %w", err)
	}
	return p, nil
}

// closeWrite closes the write ends (once the child has its copies).
func (p *nsexecPipes) closeWrite() {
	closeFD(&p.stdout[1])
	closeFD(&p.stderr[1])
}

// closeRead closes the read ends.
func (p *nsexecPipes) closeRead() {
	closeFD(&p.stdout[0])
	closeFD(&p.stderr[0])
}

func closeFD(fd *int) {
	if *fd >= 0 {
		unix.Close(*fd)
		*fd = -1
	}
}

// nsexecWait collects the output and exit status of the command started
// as pid (pidfd) with pipes' write ends, and closes pidfd and the read
// ends. When ctx is done first, the command's process group is killed and
// the result has ExitCode -1 with ctx's error.
func nsexecWait(ctx context.Context, name string, pid, pidfd int, pipes nsexecPipes) (*runtime.ExecResult, error) {
	defer pipes.closeRead()
	defer unix.Close(pidfd)
	// Its process group: the command and what it started without a new
	// session (Setsid made its PID the group's ID). The group dies with
	// SIGKILL and the loop below reaps the command.
	stop := context.AfterFunc(ctx, func() { unix.Kill(-pid, unix.SIGKILL) })
	stdout := &cappedBuffer{max: maxExecOutput}
	stderr := &cappedBuffer{max: maxExecOutput}
	ws, err := nsexecCollect(pid, pidfd, pipes, stdout, stderr)
	if !stop() {
		return &runtime.ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: -1},
			fmt.Errorf("exec %q: %w", name, ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	res := &runtime.ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: ws.ExitStatus()}
	if ws.Signaled() {
		// Killed by a signal: 128+n, as runc exec reports it.
		res.ExitCode = 128 + int(ws.Signal())
	}
	return res, nil
}

// nsexecCollect reads the command's stdout and stderr into the buffers
// until both end, and reaps the command when its pidfd says it exited. A
// background child may keep the pipes open: they are read for at most
// nsexecWaitDelay after the exit (as os/exec's WaitDelay did).
func nsexecCollect(pid, pidfd int, pipes nsexecPipes, stdout, stderr *cappedBuffer) (syscall.WaitStatus, error) {
	fds := [3]unix.PollFd{
		{Fd: int32(pipes.stdout[0]), Events: unix.POLLIN},
		{Fd: int32(pipes.stderr[0]), Events: unix.POLLIN},
		{Fd: int32(pidfd), Events: unix.POLLIN},
	}
	bufs := [2]*cappedBuffer{stdout, stderr}
	var (
		ws     syscall.WaitStatus
		exited bool
		until  time.Time
	)
	// Poll ignores negative descriptors: a stream that ended, the pidfd
	// once the command is reaped.
	for fds[0].Fd >= 0 || fds[1].Fd >= 0 || !exited {
		timeout := -1
		if exited {
			left := time.Until(until)
			if left <= 0 {
				break
			}
			timeout = int((left + time.Millisecond - 1) / time.Millisecond)
		}
		if _, err := unix.Poll(fds[:], timeout); err != nil {
			if err == unix.EINTR {
				continue
			}
			if !exited {
				unix.Kill(-pid, unix.SIGKILL)
				nsexecReap(pid)
			}
			return ws, fmt.Errorf("poll: %w", err)
		}
		for i, b := range bufs {
			if fds[i].Revents != 0 && !b.readFD(int(fds[i].Fd)) {
				fds[i].Fd = -1
			}
		}
		if fds[2].Revents != 0 {
			var err error
			if ws, err = nsexecReap(pid); err != nil {
				return ws, err
			}
			exited, until = true, time.Now().Add(nsexecWaitDelay)
			fds[2].Fd = -1
		}
	}
	return ws, nil
}

// nsexecReap waits for the exited child pid (the agent's own: only it
// reaps it, so the PID cannot have been reused).
func nsexecReap(pid int) (syscall.WaitStatus, error) {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			return ws, err
		}
	}
}

// readFD reads what is ready on fd into b (keeping b's cap, discarding
// the rest); false at the end of the stream. The first read goes through
// the stack, so a stream with nothing to say allocates nothing; later
// ones straight into b's spare room.
func (b *cappedBuffer) readFD(fd int) bool {
	var first [512]byte
	p := first[:]
	if room := b.max - b.buf.Len(); b.buf.Cap() > 0 && room > 0 {
		b.buf.Grow(min(room, len(first)))
		p = b.buf.AvailableBuffer()
		p = p[:min(cap(p), room)]
	}
	n, err := unix.Read(fd, p)
	switch {
	case err == unix.EINTR || err == unix.EAGAIN:
		return true
	case n <= 0:
		return false
	}
	b.Write(p[:n])
	return true
}
