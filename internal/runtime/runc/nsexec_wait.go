package runc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/peapod/peapod/internal/runtime"
)

// How the fast exec path collects a command it started: without os/exec,
// whose Cmd costs a goroutine per captured stream, one for Wait and their
// stacks' growth per exec. The calling goroutine alone waits (in Go's
// poller) on the command's stdout and stderr pipes and its pidfd, reads
// what is ready and reaps the command when it exits; a timeout is a
// context.AfterFunc, which costs a goroutine only when it fires.

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
//
// The three descriptors go into an epoll set of their own whose
// descriptor waits in Go's poller: the goroutine parks without holding a
// thread or a P in a blocking syscall. (A blocking poll(2) here, about a
// millisecond per exec, kept the scheduler's sysmon thread from sleeping
// and made it hand Ps off; with 110 exec probes a second that was a tenth
// of the agent's CPU.)
func nsexecCollect(pid, pidfd int, pipes nsexecPipes, stdout, stderr *cappedBuffer) (ws syscall.WaitStatus, err error) {
	// Whatever ends the wait early leaves no process behind.
	abandon := func() {
		unix.Kill(-pid, unix.SIGKILL)
		nsexecReap(pid)
	}
	set, err := newNsexecPollSet(pipes.stdout[0], pipes.stderr[0], pidfd)
	if err != nil {
		abandon()
		return ws, err
	}
	defer set.close()
	bufs := [2]*cappedBuffer{stdout, stderr}
	open := [3]bool{true, true, true} // stdout, stderr, the process
	for open[0] || open[1] || open[2] {
		ready, err := set.wait()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && !open[2] {
				break // a background child holds the pipes
			}
			if open[2] {
				abandon()
			}
			return ws, fmt.Errorf("wait: %w", err)
		}
		for i, b := range bufs {
			if open[i] && ready[i] && !b.readFD(set.fds[i]) {
				open[i] = false
				set.remove(i)
			}
		}
		if open[2] && ready[2] {
			if ws, err = nsexecReap(pid); err != nil {
				return ws, err
			}
			open[2] = false
			set.remove(2)
			set.deadline(time.Now().Add(nsexecWaitDelay))
		}
	}
	return ws, nil
}

// nsexecPollSet is an epoll set of the command's descriptors, itself
// waited for in Go's poller.
type nsexecPollSet struct {
	fds [3]int
	ep  *os.File
	raw syscall.RawConn
	evs [3]unix.EpollEvent
}

func newNsexecPollSet(fds ...int) (*nsexecPollSet, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	s := &nsexecPollSet{}
	for i, fd := range fds {
		s.fds[i] = fd
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			unix.Close(ep)
			return nil, fmt.Errorf("epoll add: %w", err)
		}
	}
	// Non-blocking, so that os.NewFile registers it with the poller.
	if err := unix.SetNonblock(ep, true); err != nil {
		unix.Close(ep)
		return nil, err
	}
	s.ep = os.NewFile(uintptr(ep), "nsexec-epoll")
	if s.raw, err = s.ep.SyscallConn(); err != nil {
		s.ep.Close()
		return nil, err
	}
	return s, nil
}

// wait returns which descriptors are ready (by index), parking in the
// poller until one is; os.ErrDeadlineExceeded past the deadline.
func (s *nsexecPollSet) wait() (ready [3]bool, err error) {
	var n int
	werr := s.raw.Read(func(ep uintptr) bool {
		// Called at once (readiness is not known yet) and again each
		// time the set's descriptor becomes readable.
		for {
			n, err = unix.EpollWait(int(ep), s.evs[:], 0)
			if err != unix.EINTR {
				break
			}
		}
		return err != nil || n > 0
	})
	if werr != nil {
		return ready, werr
	}
	if err != nil {
		return ready, err
	}
	for _, ev := range s.evs[:n] {
		ready[ev.Fd] = true
	}
	return ready, nil
}

// remove takes descriptor i out of the set (it ended).
func (s *nsexecPollSet) remove(i int) {
	s.raw.Control(func(ep uintptr) { unix.EpollCtl(int(ep), unix.EPOLL_CTL_DEL, s.fds[i], nil) })
}

// deadline bounds the waits from now on.
func (s *nsexecPollSet) deadline(t time.Time) { s.ep.SetReadDeadline(t) }

func (s *nsexecPollSet) close() { s.ep.Close() }

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
