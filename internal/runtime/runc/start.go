package runc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// startCreated lets a created container's init process run the user's
// process: what `runc start` does (runc 1.1 and 1.2), without a runc
// process per start. runc create leaves its init blocked opening
// <root>/<id>/exec.fifo for writing; it writes one byte once a reader
// opened the fifo, then execs the user's process, which closes the write
// end. The reader reads until that end-of-file and removes the fifo
// (`runc state` then says "running"). If init dies instead, the start
// fails as `runc start` fails. Without the fifo (another runc layout),
// `runc start` runs.
func (d *Driver) startCreated(ctx context.Context, id string, pid int, pidStart uint64) error {
	fifo := filepath.Join(d.dirs.runcRoot, id, "exec.fifo")
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return errors.New("container process is already dead")
		}
		return fmt.Errorf("pidfd_open: %w", err)
	}
	defer unix.Close(pidfd)
	if !alive(pid, pidStart) {
		return errors.New("container process is already dead")
	}
	// Non-blocking: opening a fifo for reading then never waits for a
	// writer; poll waits for init's byte or its exit.
	fd, err := unix.Open(fifo, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			_, err := d.runc(ctx, "start", id)
			return err
		}
		return fmt.Errorf("open exec fifo: %w", err)
	}
	defer unix.Close(fd)
	got, exited := 0, false
	buf := make([]byte, 16)
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, 100); err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("poll exec fifo: %w", err)
		}
		if fds[0].Revents&(unix.POLLIN|unix.POLLHUP) != 0 || exited {
			n, err := unix.Read(fd, buf)
			switch {
			case n > 0:
				got += n
				continue
			case n == 0 && got > 0:
				// init wrote its byte and closed the fifo at exec.
				waitExeced(pid, pidStart)
				return removeFifo(fifo)
			case n == 0 && fds[0].Revents&unix.POLLHUP != 0:
				// A writer came and went without a byte: init died while
				// opening the fifo (runc would find the same), unless it
				// still runs.
				pfd := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
				unix.Poll(pfd, 100)
				if pfd[0].Revents&unix.POLLIN != 0 || !alive(pid, pidStart) {
					return errors.New("container process is already dead")
				}
				return errors.New("cannot start an already running container")
			case err != nil && !errors.Is(err, unix.EAGAIN):
				return fmt.Errorf("read exec fifo: %w", err)
			}
		}
		if exited {
			if got > 0 {
				return removeFifo(fifo)
			}
			return errors.New("container process is already dead")
		}
		if fds[1].Revents&unix.POLLIN != 0 {
			exited = true // read what init may have written, then decide
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

func removeFifo(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// waitExeced waits until pid's exec of the user's process completed.
// init's end of the fifo closes before the exec is done (the kernel
// drops the write end while init still runs as "runc:[2:INIT]", and the
// new program's arguments appear last: /proc/<pid>/cmdline reads empty
// in between). Callers may look at the process right after
// StartContainer (exec into it, read its PID 1), as they could after
// `runc start`, whose own exit took long enough to hide this; it takes
// microseconds to a millisecond.
func waitExeced(pid int, start uint64) {
	proc := "/proc/" + strconv.Itoa(pid) + "/"
	for delay := 20 * time.Microsecond; delay < time.Second; delay *= 2 {
		comm, err := os.ReadFile(proc + "comm")
		if err != nil {
			return
		}
		if strings.TrimSpace(string(comm)) != "runc:[2:INIT]" {
			if cmd, err := os.ReadFile(proc + "cmdline"); err != nil || len(cmd) > 0 {
				return
			}
		}
		if !alive(pid, start) {
			return
		}
		time.Sleep(delay)
	}
}
