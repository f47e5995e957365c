package runc

import (
	"golang.org/x/sys/unix"
)

// The exec thread's setns(2) calls go to the kernel without telling Go's
// scheduler (RawSyscall: no entersyscall). They take microseconds and
// never wait on anything outside the kernel, so the thread keeps its P
// through them. Announced as syscalls, the longer ones were seen by
// sysmon, which took the P away, handed it to another thread and then
// polled every 20 µs for a millisecond: about a tenth of the agent's CPU
// under exec-probe load went to sysmon and those hand-offs (when the
// thread also joined the container's cgroups itself, before the command
// did, nsexec_fork.go). Calls into the container's own filesystem (the
// PATH search) stay ordinary syscalls: they may wait on a network
// filesystem.

// rawSetns is setns(2).
func rawSetns(fd int, flags int) error {
	_, _, errno := unix.RawSyscall(unix.SYS_SETNS, uintptr(fd), uintptr(flags), 0)
	if errno != 0 {
		return errno
	}
	return nil
}
