package runc

import (
	"errors"
	"os"
	"strconv"
	"sync"
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
// the container's list, which the exec thread writes its TID back to once
// the command is forked.
type nsexecHome struct {
	once  sync.Once
	tasks map[string]string // container tasks file's hierarchy dir -> the agent's tasks file there
	err   error
}

var nsexecHomes nsexecHome

// homeFor returns the agent's tasks file in the hierarchy of the container
// tasks file t (/sys/fs/cgroup/<hierarchy>/<path>/tasks).
func (h *nsexecHome) homeFor(t string) (string, error) {
	h.once.Do(func() {
		groups, _, err := nsexecCgroups(os.Getpid())
		if err != nil {
			h.err = err
			return
		}
		h.tasks = map[string]string{}
		for _, cands := range groups {
			for _, c := range cands {
				if _, err := os.Stat(c); err == nil {
					h.tasks[nsexecHierarchy(c)] = c
					break
				}
			}
		}
	})
	if h.err != nil {
		return "", h.err
	}
	home, ok := h.tasks[nsexecHierarchy(t)]
	if !ok {
		return "", errors.New("no cgroup of the agent's in the hierarchy of " + t)
	}
	return home, nil
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

// nsexecLeave writes thread tid back to the agent's cgroups of each
// hierarchy of the container tasks files it joined.
func nsexecLeave(joined []string, tid int) error {
	b := []byte(strconv.Itoa(tid))
	var errs []error
	for _, t := range joined {
		home, err := nsexecHomes.homeFor(t)
		if err == nil {
			err = writeExisting(home, b)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
