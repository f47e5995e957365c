package runc

import (
	"errors"
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

// nsexecHome is the agent's own v1 tasks files, one per hierarchy found in
// the container's list, which the exec thread writes itself back to once
// the command is forked. They are opened once and kept (a handful of
// descriptors for the agent's life).
type nsexecHome struct {
	once  sync.Once
	tasks map[string]int // container tasks file's hierarchy dir -> the agent's tasks file there, open
	err   error
}

var nsexecHomes nsexecHome

// homeFor returns the agent's tasks file in the hierarchy of the container
// tasks file t (/sys/fs/cgroup/<hierarchy>/<path>/tasks), open for writing.
func (h *nsexecHome) homeFor(t string) (int, error) {
	if err := h.load(); err != nil {
		return -1, err
	}
	home, ok := h.tasks[nsexecHierarchy(t)]
	if !ok {
		return -1, errors.New("no cgroup of the agent's in the hierarchy of " + t)
	}
	return home, nil
}

// load opens the agent's tasks files, once. It must first run in the
// agent's own mount namespace (it reads /proc/<agent>/cgroup).
func (h *nsexecHome) load() error {
	h.once.Do(func() {
		groups, _, err := nsexecCgroups(os.Getpid())
		if err != nil {
			h.err = err
			return
		}
		h.tasks = map[string]int{}
		for _, cands := range groups {
			for _, c := range cands {
				if fd, err := unix.Open(c, unix.O_WRONLY|unix.O_CLOEXEC, 0); err == nil {
					h.tasks[nsexecHierarchy(c)] = fd
					break
				}
			}
		}
	})
	return h.err
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
// and returns those it joined.
func nsexecJoin(tasks []string) (joined []string, err error) {
	for _, t := range tasks {
		fd, err := unix.Open(t, unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return joined, &os.PathError{Op: "open", Path: t, Err: err}
		}
		_, err = unix.Write(fd, nsexecSelf)
		unix.Close(fd)
		if err != nil {
			return joined, &os.PathError{Op: "write", Path: t, Err: err}
		}
		joined = append(joined, t)
	}
	return joined, nil
}

// nsexecLeave moves the calling thread back to the agent's cgroups of
// each hierarchy of the container tasks files it joined.
func nsexecLeave(joined []string) error {
	var errs []error
	for _, t := range joined {
		home, err := nsexecHomes.homeFor(t)
		if err == nil {
			_, err = unix.Write(home, nsexecSelf)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
