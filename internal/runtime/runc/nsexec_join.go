package runc

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// nsexecJoined guards the windows in which an agent thread sits in a
// container's cgroups (the fast exec path joins them so that the command
// it forks starts there, as under runc exec). On cgroup v1, a process
// with any thread in a cgroup is listed in its cgroup.procs, and
// everything that kills "all processes of the container" reads that file:
// `runc kill --all`, `runc delete --force` of a container sharing another
// PID namespace, and killCgroup. Run in such a window, they would kill
// the agent itself. Exec paths hold the read lock from joining until the
// thread has left again; killers hold the write lock. It is process-wide,
// like the threads it is about.
var nsexecJoined sync.RWMutex

// nsexecHome is, per v1 hierarchy the agent is in, what an exec thread
// joins and leaves cgroups through: the hierarchy's root directory
// (O_PATH), relative to which it opens a container's tasks file, and the
// agent's own tasks file there, which it writes itself back to once the
// command is forked. Both are opened once and kept: two descriptors per
// hierarchy for the agent's life, not per container (a container's nine
// tasks files kept open would be copied and closed by every fork and exec
// of the agent, see nsexec_cache.go).
type nsexecHome struct {
	once  sync.Once
	hiers map[string]nsexecV1 // hierarchy dir (/sys/fs/cgroup/<dir>) -> its descriptors
	err   error
}

// nsexecV1 is one v1 hierarchy's kept descriptors.
type nsexecV1 struct {
	root int // /sys/fs/cgroup/<hierarchy>, O_PATH
	home int // the agent's tasks file there, open for writing
}

var nsexecHomes nsexecHome

// load opens the hierarchies' descriptors, once. It must first run in the
// agent's own mount namespace (it reads /proc/<agent>/cgroup).
func (h *nsexecHome) load() error {
	h.once.Do(func() {
		groups, _, err := nsexecCgroups(os.Getpid())
		if err != nil {
			h.err = err
			return
		}
		h.hiers = map[string]nsexecV1{}
		for _, cands := range groups {
			for _, c := range cands {
				home, err := unix.Open(c, unix.O_WRONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					continue
				}
				dir := nsexecHierarchy(c)
				root, err := unix.Open("/sys/fs/cgroup/"+dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
				if err != nil {
					unix.Close(home)
					continue
				}
				h.hiers[dir] = nsexecV1{root: root, home: home}
				break
			}
		}
	})
	return h.err
}

// nsexecTasksFile is a container's tasks file in one v1 hierarchy, as an
// exec thread joins it: opened relative to the hierarchy's root, left
// through the agent's own tasks file there.
type nsexecTasksFile struct {
	path string // /sys/fs/cgroup/<hierarchy>/<cgroup>/tasks, for messages
	rel  string // <cgroup>/tasks
	nsexecV1
}

// tasksFile returns how to join and leave the v1 tasks file t
// (/sys/fs/cgroup/<hierarchy>/<cgroup>/tasks). A hierarchy the agent is
// not in could not be left: the fast path does not join it.
func (h *nsexecHome) tasksFile(t string) (nsexecTasksFile, error) {
	if err := h.load(); err != nil {
		return nsexecTasksFile{}, err
	}
	dir := nsexecHierarchy(t)
	v1, ok := h.hiers[dir]
	if !ok {
		return nsexecTasksFile{}, errors.New("no cgroup of the agent's in the hierarchy of " + t)
	}
	return nsexecTasksFile{path: t, rel: t[len("/sys/fs/cgroup/"+dir+"/"):], nsexecV1: v1}, nil
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

// nsexecSelf is what a thread writes to a v1 tasks file to move itself:
// "0", the writing thread, which also spares the kernel the global
// threadgroup lock an explicit TID takes.
var nsexecSelf = []byte("0")

// nsexecJoin moves the calling thread into each of the v1 tasks files,
// and returns how many (from the first) it joined.
func nsexecJoin(tasks []nsexecTasksFile) (joined int, err error) {
	for _, t := range tasks {
		fd, err := rawOpenat(t.root, t.rel, unix.O_WRONLY|unix.O_CLOEXEC)
		if err != nil {
			return joined, &os.PathError{Op: "open", Path: t.path, Err: err}
		}
		err = rawWrite(fd, nsexecSelf)
		rawClose(fd)
		if err != nil {
			return joined, &os.PathError{Op: "write", Path: t.path, Err: err}
		}
		joined++
	}
	return joined, nil
}

// nsexecLeave moves the calling thread back to the agent's cgroups of
// the hierarchies of the tasks files it joined.
func nsexecLeave(joined []nsexecTasksFile) error {
	var errs []error
	for _, t := range joined {
		if err := rawWrite(t.home, nsexecSelf); err != nil {
			errs = append(errs, fmt.Errorf("back to the agent's cgroup of %s: %w", t.path, err))
		}
	}
	return errors.Join(errs...)
}
