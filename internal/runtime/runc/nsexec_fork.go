package runc

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// The fast exec path's fork: what syscall.ForkExec does, plus the one
// step it cannot do, joining the container's v1 cgroups, done by the
// child itself between clone and execve (nsexec_join.go). The exec thread
// has already entered the container's namespaces and restricted itself
// (nsexec_thread.go); the child inherits that, and then, with raw system
// calls only:
//
//  1. writes itself into each v1 tasks file of the container and its
//     unified cgroup.procs;
//  2. starts a new session, restores the signal mask Go blocked for the
//     fork;
//  3. takes the container process's open-files limit (Go raises the
//     agent's own soft limit; runc exec's processes get the original),
//     then the spec's groups, gid and uid;
//  4. changes to the working directory, puts /dev/null and the output
//     pipes on 0-2, marks every other descriptor close-on-exec (so no
//     descriptor of the agent's reaches the command, whether or not it
//     was opened close-on-exec: the ForkLock is not needed), and execs.
//
// The child is cloned with CLONE_VM|CLONE_VFORK, as Go's own ForkExec
// does: it runs on the exec thread's stack and memory, and the thread
// waits until the child has exec'd or exited. So the child may not
// allocate, lock, grow its stack or call anything but nosplit functions;
// it reports a failure by storing the step and errno into its
// nsexecChild (the parent reads them once the vfork returns) and exiting.
// The kernel never picks a vfork child for the OOM killer (oom_badness:
// in_vfork), so joining the container's memory cgroup before the exec
// does not expose the agent, whose memory the child shares until then.

// nsexecChild is everything the child does, prepared by the parent.
type nsexecChild struct {
	clone nsexecCloneArgs
	pidfd int32

	path       *byte
	argv, envv []*byte // NUL-terminated arrays
	dir        *byte
	tasks      []nsexecTasksFile
	uid, gid   uintptr
	groups     []uint32
	nofile     *unix.Rlimit // nil: keep the agent's
	stdio      [3]int

	// Set by the child when a step fails, before it exits.
	failStep  nsexecStep
	failIndex int // the tasks file, for nsexecStepCgroup
	failErrno syscall.Errno
}

// nsexecCloneArgs is struct clone_args (<linux/sched.h>, the size of
// Linux 5.7's, which added cgroup).
type nsexecCloneArgs struct {
	flags, pidfd, childTID, parentTID, exitSignal uint64
	stack, stackSize, tls, setTID, setTIDSize     uint64
	cgroup                                        uint64
}

// nsexecStep names the child's steps in errors.
type nsexecStep int

const (
	nsexecStepNone nsexecStep = iota
	nsexecStepCgroup
	nsexecStepSetsid
	nsexecStepRlimit
	nsexecStepCredentials
	nsexecStepChdir
	nsexecStepStdio
	nsexecStepCloseOnExec
	nsexecStepExec
)

func (s nsexecStep) String() string {
	return [...]string{"", "join cgroup", "setsid", "open files limit", "credentials", "chdir", "stdio", "close-on-exec", "exec"}[s]
}

// nsexecFork starts c's child; it returns the child's PID and a pidfd
// of it. A child that failed has been reaped; its step and errno are in
// c.failStep and c.failErrno, and err is that errno.
func nsexecFork(c *nsexecChild) (pid, pidfd int, err error) {
	c.clone = nsexecCloneArgs{
		flags:      unix.CLONE_VM | unix.CLONE_VFORK | unix.CLONE_PIDFD,
		exitSignal: uint64(unix.SIGCHLD),
	}
	c.pidfd = -1
	r, errno := nsexecVfork(c)
	if errno != 0 {
		return -1, -1, errno
	}
	pid, pidfd = int(r), int(c.pidfd)
	if c.failStep != nsexecStepNone {
		// The child has exited (a vfork returns once it has): reap it.
		var info unix.Siginfo
		for unix.Waitid(unix.P_PIDFD, pidfd, &info, unix.WEXITED, nil) == unix.EINTR {
		}
		unix.Close(pidfd)
		return -1, -1, c.failErrno
	}
	return pid, pidfd, nil
}
