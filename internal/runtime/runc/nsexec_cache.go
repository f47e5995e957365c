package runc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// nsexecProcs keeps, per container process, what every fast exec into it
// needs and what does not change while the process runs: the part of its
// spec the fast path reads, a pidfd of the process, its cgroups (the v1
// `tasks` files' paths, the unified directory open), its open-files
// limit. A probe then reads
// neither config.json nor /proc/<pid>/cgroup, tries no candidate paths
// and need not check that the PID is still the container's.
//
// The two descriptors stay open while the entry is in use and until it
// is dropped: an open directory does not keep a cgroup from being
// removed, and a pidfd of a process that has exited makes setns fail.
// Entries are counted out by get and back by release; a dropped entry's
// descriptors close when its last user is done. The v1 tasks files are
// not kept open: every fork copies the descriptor table and every exec
// then closes the copies, and nine more per container (a thousand for
// 110 containers) cost the probe commands 2-3% of a core more than the
// opens they save the agent.
//
// It is keyed by the process (container, PID and start time), so it is
// the agent process's, not a Driver's; entries of processes that are gone
// are dropped at the next sweep.
var nsexecProcs = newNsexecCache(nsexecSweepEvery)

// nsexecSweepEvery is how often the cache drops the entries of processes
// that are gone.
const nsexecSweepEvery = 10 * time.Second

type nsexecKey struct {
	id    string
	pid   int
	start uint64
}

// nsexecEntry is one process's cached plan; read-only once made, but for
// the use count the cache keeps under its lock.
type nsexecEntry struct {
	base    nsexecSpec        // without args
	tasks   []nsexecTasksFile // the v1 tasks files
	unified int               // the unified cgroup directory, open; -1 without one
	nofile  *unix.Rlimit      // the process's open-files limit
	pid     int               // the container process
	pidfd   int               // and a pidfd of it
	users   int
	dropped bool
}

// close closes the entry's descriptors.
func (e *nsexecEntry) close() {
	if e.unified >= 0 {
		unix.Close(e.unified)
	}
	if e.pidfd >= 0 {
		unix.Close(e.pidfd)
	}
	e.unified, e.pidfd = -1, -1
}

type nsexecCache struct {
	sweepEvery time.Duration

	mu      sync.Mutex
	entries map[nsexecKey]*nsexecEntry
	sweptAt time.Time
}

func newNsexecCache(sweepEvery time.Duration) *nsexecCache {
	return &nsexecCache{sweepEvery: sweepEvery, entries: map[nsexecKey]*nsexecEntry{}}
}

// get returns the entry of k, made by open if there is none (open runs
// without the lock; two concurrent first execs may both open, one entry
// is kept). The caller gives it back with release.
func (c *nsexecCache) get(k nsexecKey, now time.Time, open func() (*nsexecEntry, error)) (*nsexecEntry, error) {
	c.mu.Lock()
	c.sweepLocked(now)
	if e, ok := c.entries[k]; ok {
		e.users++
		c.mu.Unlock()
		return e, nil
	}
	c.mu.Unlock()
	e, err := open()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[k]; ok {
		e.close()
		old.users++
		return old, nil
	}
	e.users = 1
	c.entries[k] = e
	return e, nil
}

// release gives back an entry that get returned.
func (c *nsexecCache) release(e *nsexecEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.users--
	if e.dropped && e.users == 0 {
		e.close()
	}
}

// drop forgets k's entry (its process is gone, or joining its cgroups
// failed).
func (c *nsexecCache) drop(k nsexecKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(k)
}

// dropContainer forgets the entries of container id (it is removed).
func (c *nsexecCache) dropContainer(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		if k.id == id {
			c.dropLocked(k)
		}
	}
}

func (c *nsexecCache) dropLocked(k nsexecKey) {
	e, ok := c.entries[k]
	if !ok {
		return
	}
	delete(c.entries, k)
	e.dropped = true
	if e.users == 0 {
		e.close()
	}
}

// sweepLocked drops, at most once per sweepEvery, the entries whose
// process is no longer running.
func (c *nsexecCache) sweepLocked(now time.Time) {
	if now.Sub(c.sweptAt) < c.sweepEvery {
		return
	}
	c.sweptAt = now
	for k := range c.entries {
		if !alive(k.pid, k.start) {
			c.dropLocked(k)
		}
	}
}

// running reports whether k's process is cached and has not exited: its
// pidfd becomes readable when the process exits (zombie or reaped). One
// poll, no /proc read; a pidfd cannot be fooled by a reused PID.
func (c *nsexecCache) running(k nsexecKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || e.pidfd < 0 {
		return false
	}
	fds := [1]unix.PollFd{{Fd: int32(e.pidfd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds[:], 0)
	return err == nil && n == 0
}

// len is the number of entries (tests).
func (c *nsexecCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// nsexecOpen opens the pidfd and cgroups of process pid (started at
// start) as the fast path joins them.
func nsexecOpen(base nsexecSpec, pid int, start uint64) (*nsexecEntry, error) {
	tasks, unified, err := nsexecCgroups(pid)
	if err != nil {
		return nil, fmt.Errorf("cgroups of the container: %w", err)
	}
	e := &nsexecEntry{base: base, unified: -1, pid: pid, pidfd: -1}
	if e.pidfd, err = unix.PidfdOpen(pid, 0); err != nil {
		return nil, fmt.Errorf("pidfd of the container: %w", err)
	}
	// Checked after the pidfd is open: the PID cannot be reused under it.
	if !alive(pid, start) {
		e.close()
		return nil, errors.New("container process gone")
	}
	for _, cands := range tasks {
		found := ""
		for _, t := range cands {
			if _, err = os.Stat(t); !errors.Is(err, os.ErrNotExist) {
				found = t
				break
			}
		}
		if err != nil {
			e.close()
			return nil, fmt.Errorf("cgroup: %w", err)
		}
		t, err := nsexecHomes.tasksFile(found)
		if err != nil {
			e.close()
			return nil, fmt.Errorf("the agent's cgroups: %w", err)
		}
		e.tasks = append(e.tasks, t)
	}
	if e.nofile = nsexecNofile(pid); e.nofile == nil {
		e.close()
		return nil, errors.New("the container's open-files limit: cannot read /proc/" + strconv.Itoa(pid) + "/limits")
	}
	if unified != "" {
		if e.unified, err = unix.Open(unified, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			e.close()
			return nil, fmt.Errorf("the unified cgroup: %w", &os.PathError{Op: "open", Path: unified, Err: err})
		}
	}
	return e, nil
}

// nsexecNofile is process pid's open-files limit, which the commands get
// (nsexec_fork.go), or nil if it cannot be read (the fast path is then
// not used). Go raises the agent's
// own soft limit at start and gives the original back to the processes
// it starts, conmon and runc, whose containers (and runc exec's
// processes) inherit it; read from the container process, not the
// agent. /proc/<pid>/limits is world-readable, where prlimit(2) of
// another user's process would need CAP_SYS_RESOURCE.
func nsexecNofile(pid int) *unix.Rlimit {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		return nil
	}
	return parseNofile(string(b))
}

// parseNofile reads the "Max open files" line of a /proc/<pid>/limits.
func parseNofile(limits string) *unix.Rlimit {
	for _, l := range strings.Split(limits, "\n") {
		rest, ok := strings.CutPrefix(l, "Max open files")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			return nil
		}
		lim := &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
		for i, p := range []*uint64{&lim.Cur, &lim.Max} {
			if f[i] == "unlimited" {
				continue
			}
			n, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				return nil
			}
			*p = n
		}
		return lim
	}
	return nil
}
