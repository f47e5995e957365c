//go:build amd64 || arm64

package runc

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// nsexecVforkSupported: the fast exec path can fork here.
const nsexecVforkSupported = true

// runtime hooks of the syscall package's fork (they block signals and
// stack growth around it); the linkname is one the runtime keeps for
// packages outside the standard library (go.dev/issue/67401).
//
//go:linkname runtime_BeforeFork syscall.runtime_BeforeFork
func runtime_BeforeFork()

//go:linkname runtime_AfterFork syscall.runtime_AfterFork
func runtime_AfterFork()

//go:linkname runtime_AfterForkInChild syscall.runtime_AfterForkInChild
func runtime_AfterForkInChild()

// rawVfork is clone3(args, size) of a child that shares the caller's
// stack (CLONE_VM|CLONE_VFORK); it keeps the return address in a
// register across the call, so the child cannot overwrite it
// (nsexec_vfork_*.s, after syscall.rawVforkSyscall).
func rawVfork(args, size uintptr) (pid uintptr, errno syscall.Errno)

// nsexecVfork clones c's child (nsexecForkChild) and returns in the
// parent.
func nsexecVfork(c *nsexecChild) (pid uintptr, errno syscall.Errno) {
	pid, errno = nsexecForkChild(c)
	runtime_AfterFork()
	return pid, errno
}

// nsexecForkChild clones the child and, in the child, runs c's steps
// and execs. It returns only in the parent (Go's forkAndExecInChild1 is
// the model: the parent returns at once, using nothing of the frame the
// child shared but rawVfork's results, written after the child is gone).
//
//go:noinline
//go:norace
//go:nocheckptr
func nsexecForkChild(c *nsexecChild) (pid uintptr, errno syscall.Errno) {
	c.clone.pidfd = uint64(uintptr(unsafe.Pointer(&c.pidfd)))
	runtime_BeforeFork()
	pid, errno = rawVfork(uintptr(unsafe.Pointer(&c.clone)), unsafe.Sizeof(c.clone))
	if errno != 0 || pid != 0 {
		return
	}

	// The child.
	var (
		step = nsexecStepFiles
		fd   uintptr
		i    int
	)
	if _, _, errno = syscall.RawSyscall(unix.SYS_UNSHARE, unix.CLONE_FILES, 0, 0); errno != 0 {
		goto fail
	}
	step = nsexecStepCgroup
	for i = 0; i < len(c.tasks); i++ {
		fd, _, errno = syscall.RawSyscall6(unix.SYS_OPENAT, uintptr(c.tasks[i].root), uintptr(unsafe.Pointer(&c.tasks[i].relz[0])), unix.O_WRONLY|unix.O_CLOEXEC, 0, 0, 0)
		if errno != 0 {
			goto fail
		}
		_, _, errno = syscall.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&nsexecSelf[0])), 1)
		syscall.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
		if errno != 0 {
			goto fail
		}
	}
	step = nsexecStepSetns
	if _, _, errno = syscall.RawSyscall(unix.SYS_SETNS, uintptr(c.nsfd), unix.CLONE_NEWNS|unix.CLONE_NEWNET|unix.CLONE_NEWIPC|unix.CLONE_NEWUTS|unix.CLONE_NEWCGROUP, 0); errno != 0 {
		goto fail
	}
	step = nsexecStepRestrict
	for i = 0; i < len(c.dropCaps); i++ {
		if _, _, errno = syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, c.dropCaps[i], 0, 0, 0, 0); errno != 0 {
			goto fail
		}
	}
	if _, _, errno = syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, 0); errno != 0 {
		goto fail
	}
	if c.capset != nil {
		if _, _, errno = syscall.RawSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&c.capset.hdr)), uintptr(unsafe.Pointer(&c.capset.data[0])), 0); errno != 0 {
			goto fail
		}
	}
	if c.noNewPrivs {
		if _, _, errno = syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0); errno != 0 {
			goto fail
		}
	}
	step = nsexecStepSetsid
	if _, _, errno = syscall.RawSyscall(unix.SYS_SETSID, 0, 0, 0); errno != 0 {
		goto fail
	}
	runtime_AfterForkInChild()
	if c.nofile != nil {
		step = nsexecStepRlimit
		if _, _, errno = syscall.RawSyscall6(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_NOFILE, uintptr(unsafe.Pointer(c.nofile)), 0, 0, 0); errno != 0 {
			goto fail
		}
	}
	step = nsexecStepCredentials
	if len(c.groups) > 0 {
		_, _, errno = syscall.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(c.groups)), uintptr(unsafe.Pointer(&c.groups[0])), 0)
	} else {
		_, _, errno = syscall.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0)
	}
	if errno != 0 {
		goto fail
	}
	if _, _, errno = syscall.RawSyscall(unix.SYS_SETGID, c.gid, 0, 0); errno != 0 {
		goto fail
	}
	if _, _, errno = syscall.RawSyscall(unix.SYS_SETUID, c.uid, 0, 0); errno != 0 {
		goto fail
	}
	step = nsexecStepChdir
	if _, _, errno = syscall.RawSyscall(unix.SYS_CHDIR, uintptr(unsafe.Pointer(c.dir)), 0, 0); errno != 0 {
		goto fail
	}
	step = nsexecStepStdio
	for i = 0; i < len(c.stdio); i++ {
		if _, _, errno = syscall.RawSyscall(unix.SYS_DUP3, uintptr(c.stdio[i]), uintptr(i), 0); errno != 0 {
			goto fail
		}
	}
	step = nsexecStepCloseOnExec
	if _, _, errno = syscall.RawSyscall(unix.SYS_CLOSE_RANGE, 3, ^uintptr(0), unix.CLOSE_RANGE_CLOEXEC); errno != 0 {
		goto fail
	}
	step, i = nsexecStepExec, c.found
	_, _, errno = syscall.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(c.exec)), uintptr(unsafe.Pointer(&c.argv[0])), uintptr(unsafe.Pointer(&c.envv[0])))

fail:
	c.failStep, c.failIndex, c.failErrno = step, i, errno
	for {
		syscall.RawSyscall(unix.SYS_EXIT, 253, 0, 0)
	}
}
