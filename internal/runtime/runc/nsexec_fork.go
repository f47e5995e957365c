package runc

import (
	"errors"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The fast exec path's fork: what syscall.ForkExec does, plus what it
// cannot do, done by the child itself between clone and execve with raw
// system calls only, on data the parent prepared:
//
//  0. it takes a descriptor table of its own, a copy of the agent's: it
//     was cloned sharing the agent's (CLONE_FILES), so that the copy is
//     made in the child's time, not in the clone the agent waits for;
//  1. it writes itself into the container's v1 cgroups, each hierarchy's
//     tasks file (nsexec_join.go); the unified cgroup is given to clone3
//     (CLONE_INTO_CGROUP);
//  2. setns(pidfd of the container's process) into its mount, network,
//     IPC, UTS and cgroup namespaces (it was cloned into the PID namespace:
//     the parent's thread set its pid_for_children, nsexec.go);
//  3. restricts itself as runc does: the capability bounding set cut to
//     the container's, no inheritable or ambient capabilities,
//     no_new_privs if the spec has it;
//  4. starts a new session, restores the signal mask Go blocked for the
//     fork, takes the container process's open-files limit (Go raises the
//     agent's own soft limit; runc exec's processes get the original),
//     then the spec's groups, gid and uid;
//  5. changes to the working directory, puts /dev/null and the output
//     pipes on 0-2, marks every other descriptor close-on-exec (so no
//     descriptor of the agent's reaches the command, whether or not it
//     was opened close-on-exec: the ForkLock is not needed), and execs.
//
// The child is cloned with CLONE_VM|CLONE_VFORK, as Go's own ForkExec
// does: it runs on the parent's stack and memory, and the parent's
// thread waits until the child has exec'd or exited. So the child may not
// allocate, lock, grow its stack or call anything but nosplit functions;
// it reports a failure by storing the step and errno into its
// nsexecChild (the parent reads them once the vfork returns) and exiting.
// The kernel never picks a vfork child for the OOM killer (oom_badness:
// in_vfork), so joining the container's memory cgroup before the exec
// does not expose the agent, whose memory the child shares until then
// (a cgroup v2 memory.oom.group, which kills every process of the group
// and so the agent with the child, is not set by peapod).
//
// The command is looked up on the container's PATH before the fork
// (nsexecFindIn), not in the child: the child holds its parent's thread
// and P, signals blocked, until it execs, and only does what cannot
// wait on a network filesystem, but for the chdir and execve that Go's
// own ForkExec does there too.
//
// All of that is the command's own CPU time, not the agent's, as it is
// runc init's under runc exec. Done by the agent instead (up to session
// 8: a pooled thread locked for good, which joined the cgroups, entered
// the namespaces, forked through syscall.ForkExec and went back), the
// same work plus the way back and the hand-offs to the locked thread
// cost the agent about twice its CPU per exec.

// nsexecChild is everything the child does, prepared by the parent.
type nsexecChild struct {
	clone nsexecCloneArgs
	pidfd int32

	tasks      []nsexecTasksFile
	nsfd       int // the container process's pidfd, for setns
	dropCaps   []uintptr
	capset     *nsexecCapset // nil: nothing inheritable to clear
	noNewPrivs bool
	cands      []nsexecCandidate
	slash      bool         // the command has a slash: cands is that one file
	found      int          // the candidate to exec (nsexecFindIn, before the fork)
	exec       *byte        // its path
	nofile     *unix.Rlimit // nil: keep the agent's
	uid, gid   uintptr
	groups     []uint32
	dir        *byte
	stdio      [3]int
	argv, envv []*byte // NUL-terminated arrays

	// Set by the child when a step fails, before it exits (the lookup
	// steps by nsexecFindIn).
	failStep  nsexecStep
	failIndex int // the tasks file, for nsexecStepCgroup; the candidate for the lookup
	failErrno syscall.Errno
}

// nsexecCandidate is a file the command may be: look is the path to
// look at (absolute, in the container), path the one to execve
// (relative to the working directory for a relative command with a
// slash).
type nsexecCandidate struct {
	look, path string
}

// nsexecCapset is capset(2)'s arguments.
type nsexecCapset struct {
	hdr  unix.CapUserHeader
	data [2]unix.CapUserData
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
	nsexecStepFiles
	nsexecStepCgroup
	nsexecStepSetns
	nsexecStepRestrict
	nsexecStepLookup   // the command (with a slash) cannot be stat'ed (in the parent)
	nsexecStepNotExec  // the command (with a slash) is a directory or not executable (in the parent)
	nsexecStepNotFound // not on the PATH (in the parent)
	nsexecStepSetsid
	nsexecStepRlimit
	nsexecStepCredentials
	nsexecStepChdir
	nsexecStepStdio
	nsexecStepCloseOnExec
	nsexecStepExec
)

func (s nsexecStep) String() string {
	return [...]string{"", "unshare files", "join cgroup", "setns", "restrict", "stat", "not executable", "not found",
		"setsid", "open files limit", "credentials", "chdir", "stdio", "close-on-exec", "exec"}[s]
}

// nsexecFork starts c's child, in the unified cgroup directory unified
// if that is not -1; it returns the child's PID and a pidfd
// of it. A child that failed has been reaped; its step and errno are in
// c.failStep and c.failErrno, and err is that errno (or names the step).
func nsexecFork(c *nsexecChild, unified int) (pid, pidfd int, err error) {
	c.clone = nsexecCloneArgs{
		flags:      unix.CLONE_VM | unix.CLONE_VFORK | unix.CLONE_FILES | unix.CLONE_PIDFD,
		exitSignal: uint64(unix.SIGCHLD),
	}
	if unified >= 0 {
		c.clone.flags |= unix.CLONE_INTO_CGROUP
		c.clone.cgroup = uint64(unified)
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
		if c.failErrno == 0 {
			return -1, -1, errors.New(c.failStep.String())
		}
		return -1, -1, c.failErrno
	}
	return pid, pidfd, nil
}

// nsexecLastCap is the kernel's highest capability number.
var nsexecLastCap = sync.OnceValue(func() uintptr {
	last := uintptr(0)
	for c := uintptr(0); c < 64; c++ {
		if _, _, e := unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAPBSET_READ, c, 0, 0, 0, 0); e != 0 {
			break
		}
		last = c
	}
	return last
})

// nsexecDropCaps are the capabilities to drop from the bounding set to
// keep only keep's (bit n: capability n).
func nsexecDropCaps(keep uint64) []uintptr {
	var drop []uintptr
	for c := uintptr(0); c <= nsexecLastCap(); c++ {
		if keep&(1<<c) == 0 {
			drop = append(drop, c)
		}
	}
	return drop
}

// nsexecInheritable is the capset that clears the agent's inheritable
// capabilities (keeping its effective and permitted ones), or nil when
// it has none; read once (the agent's capabilities do not change).
var nsexecInheritable = sync.OnceValue(func() *nsexecCapset {
	c := &nsexecCapset{hdr: unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}}
	if err := unix.Capget(&c.hdr, &c.data[0]); err != nil || (c.data[0].Inheritable == 0 && c.data[1].Inheritable == 0) {
		return nil
	}
	c.data[0].Inheritable, c.data[1].Inheritable = 0, 0
	return c
})
