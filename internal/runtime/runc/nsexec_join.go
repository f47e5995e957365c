package runc

import (
	"errors"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// The command of a fast exec joins the container's cgroups itself,
// between its fork and its execve (nsexec_fork.go): it writes "0" (the
// writing task) to each v1 hierarchy's tasks file of the container and
// to its unified cgroup's cgroup.procs. (clone3's CLONE_INTO_CGROUP
// would put it into the unified one at the fork, but that made the
// agent's clone look the css_set up and check permissions through
// kernfs: 1.8% of the agent's CPU under 110 exec probes a second, now
// the command's.) No
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
	once        sync.Once
	roots       map[string]int // hierarchy dir (/sys/fs/cgroup/<dir>) -> its root, O_PATH
	unified     string         // the unified hierarchy's mount, if any
	unifiedRoot int            // and its root, O_PATH; -1 without one
	err         error
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
		h.roots, h.unifiedRoot = map[string]int{}, -1
		if h.unified = unifiedMount(); h.unified != "" {
			if h.unifiedRoot, err = unix.Open(h.unified, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
				h.unifiedRoot = -1
			}
		}
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

// nsexecTasksFile is a container's tasks file in one v1 hierarchy, or
// its unified cgroup.procs, as the command joins it: opened relative to
// the hierarchy's root.
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

// procsFile returns how to join the unified cgroup dir (under the
// unified hierarchy's mount): its cgroup.procs.
func (h *nsexecHome) procsFile(dir string) (nsexecTasksFile, error) {
	if err := h.load(); err != nil {
		return nsexecTasksFile{}, err
	}
	rel, ok := strings.CutPrefix(dir, h.unified)
	if h.unifiedRoot < 0 || !ok || (rel != "" && rel[0] != '/') {
		return nsexecTasksFile{}, errors.New("the unified cgroup hierarchy of " + dir + " is not open")
	}
	relz, err := unix.ByteSliceFromString(strings.TrimPrefix(rel+"/cgroup.procs", "/"))
	if err != nil {
		return nsexecTasksFile{}, err
	}
	return nsexecTasksFile{path: dir + "/cgroup.procs", relz: relz, root: h.unifiedRoot}, nil
}

// unifiedMount is where the unified (v2) hierarchy is mounted:
// /sys/fs/cgroup on a v2 host, /sys/fs/cgroup/unified on a hybrid one,
// "" if nowhere.
func unifiedMount() string {
	for _, p := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st unix.Statfs_t
		if unix.Statfs(p, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return p
		}
	}
	return ""
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
