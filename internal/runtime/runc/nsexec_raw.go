package runc

import (
	"golang.org/x/sys/unix"
)

// The forking thread's two setns(2) calls around the fast exec path's
// clone (its pid_for_children into the container's PID namespace and
// back, nsexec.go) go to the kernel without telling Go's scheduler
// (RawSyscall: no entersyscall). They take microseconds and never wait
// on anything outside the kernel, so the thread keeps its P through them
// and sysmon, which takes the P of a thread it sees in a syscall and then
// polls every 20 µs, is not woken for them. Calls into the container's
// own filesystem (the PATH search, nsexecFindIn) stay ordinary syscalls:
// they may wait on a network filesystem.

// rawSetns is setns(2).
func rawSetns(fd int, flags int) error {
	_, _, errno := unix.RawSyscall(unix.SYS_SETNS, uintptr(fd), uintptr(flags), 0)
	if errno != 0 {
		return errno
	}
	return nil
}
