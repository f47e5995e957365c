package runc

import (
	"errors"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// The command of a fast exec joins the container's v1 cgroups itself,
// between its fork and its execve (nsexec_fork.go): it writes "0" (the
// writing task) to each hierarchy's tasks file of the container. Its
// unified cgroup is given to clone3 instead (CLONE_INTO_CGROUP): a
// write to the unified cgroup.procs takes the kernel's global
// threadgroup lock for writing, which waits for an RCU grace period
// (~10 ms for a probe that comes alone) and holds every fork and exit
// of the machine meanwhile; "0" into a v1 tasks file moves one task
// and takes no such lock. No
// thread of the agent ever enters a container's cgroups, so nothing that
// kills "every process of the container" (`runc kill --all`, killCgroup)
// can reach the agent, the container's memory cgroup never charges or
// OOM-kills it, and no thread has to move back afterwards (the nine
// migrations back cost the agent as much again).

// nsexecHome is, per v1 hierarchy, the directory a command joins its
// container's cgroups through: the hierarchy's root (O_PATH), relative
// to which it opens the container's tasks file. Opened once and kept: one
// descriptor per hierarchy for the agent's life, not per container (a
// container's nine tasks files kept open would be copied and closed by
// every fork and exec of the agent, see nsexec_cache.go).
type nsexecHome struct {
	once  sync.Once
	roots map[string]int // hierarchy dir (/sys/fs/cgroup/<dir>) -> its root, O_PATH
	err   error
}

var nsexecHomes nsexecHome

// load opens the hierarchies' roots, once: those the agent itself is in,
// which on v1 are all of them. It must first run in the agent's own mount
// namespace (it reads /proc/<agent>/cgroup).
func (h *nsexecHome) load() error {
	h.once.Do(func() {
		groups, _, err := nsexecCgroups(os.Getpid())
		if err != nil {
			h.err = err
			return
		}
		h.roots = map[string]int{}
		for _, cands := range groups {
			for _, c := range cands {
				dir := nsexecHierarchy(c)
				root, err := unix.Open("/sys/fs/cgroup/"+dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
				if err != nil {
					continue
				}
				h.roots[dir] = root
				break
			}
		}
	})
	return h.err
}

// nsexecTasksFile is a container's tasks file in one v1 hierarchy, as
// the command joins it: opened relative to the hierarchy's root.
type nsexecTasksFile struct {
	path string // /sys/fs/cgroup/<hierarchy>/<cgroup>/tasks, for messages
	relz []byte // <cgroup>/tasks, NUL-terminated for openat(2) in the child
	root int
}

// tasksFile returns how to join the v1 tasks file t
// (/sys/fs/cgroup/<hierarchy>/<cgroup>/tasks).
func (h *nsexecHome) tasksFile(t string) (nsexecTasksFile, error) {
	if err := h.load(); err != nil {
		return nsexecTasksFile{}, err
	}
	dir := nsexecHierarchy(t)
	root, ok := h.roots[dir]
	if !ok {
		return nsexecTasksFile{}, errors.New("no cgroup hierarchy of the agent's holds " + t)
	}
	rel, err := unix.ByteSliceFromString(t[len("/sys/fs/cgroup/"+dir+"/"):])
	if err != nil {
		return nsexecTasksFile{}, err
	}
	return nsexecTasksFile{path: t, relz: rel, root: root}, nil
}

// nsexecHierarchy is the hierarchy directory of a v1 tasks file:
// /sys/fs/cgroup/<hierarchy>/... -> <hierarchy>.
func nsexecHierarchy(tasks string) string {
	const root = "/sys/fs/cgroup/"
	if len(tasks) <= len(root) || tasks[:len(root)] != root {
		return ""
	}
	rest := tasks[len(root):]
	for i := 0; i < len(rest); i++ {
		if rest[i] == '/' {
			return rest[:i]
		}
	}
	return rest
}

// nsexecSelf is what the command writes to a v1 tasks file to move
// itself: "0", the writing task, which also spares the kernel the global
// threadgroup lock an explicit PID takes.
var nsexecSelf = [1]byte{'0'}
