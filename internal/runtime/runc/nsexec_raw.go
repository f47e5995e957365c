package runc

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The exec thread's calls into cgroupfs and setns(2) go to the kernel
// without telling Go's scheduler (RawSyscall: no entersyscall). They
// take microseconds and never wait on anything outside the kernel, so
// the thread keeps its P through them. Announced as syscalls, the
// longer ones (a cgroup migration) were seen by sysmon, which took the
// P away, handed it to another thread and then polled every 20 µs for
// a millisecond: about a tenth of the agent's CPU under exec-probe load
// went to sysmon and those hand-offs. Calls into the container's own
// filesystem (the PATH search) stay ordinary syscalls: they may wait on
// a network filesystem.

// rawOpenat is openat(2) of a path under dirfd.
func rawOpenat(dirfd int, path string, flags int) (int, error) {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return -1, err
	}
	fd, _, errno := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags), 0, 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// rawWrite is write(2) of b.
func rawWrite(fd int, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	_, _, errno := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if errno != 0 {
		return errno
	}
	return nil
}

// rawClose is close(2).
func rawClose(fd int) {
	unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

// rawSetns is setns(2).
func rawSetns(fd int, flags int) error {
	_, _, errno := unix.RawSyscall(unix.SYS_SETNS, uintptr(fd), uintptr(flags), 0)
	if errno != 0 {
		return errno
	}
	return nil
}
