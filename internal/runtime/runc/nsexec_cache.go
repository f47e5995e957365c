package runc

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// nsexecProcs keeps, per container process, what every fast exec into it
// needs and what does not change while the process runs: the part of its
// spec the fast path reads and its cgroups (the v1 `tasks` files found,
// the unified directory). A probe then reads neither config.json nor
// /proc/<pid>/cgroup, and tries no candidate paths.
//
// Only paths are kept, no descriptors: open descriptors would not keep a
// cgroup from being removed, but every exec's fork copies the descriptor
// table and its exec closes them (a thousand cgroup files for 110
// containers cost the children more than the opens they save).
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

// nsexecEntry is one process's cached plan; read-only once made.
type nsexecEntry struct {
	base    nsexecSpec // without args
	tasks   []string   // the v1 tasks files
	unified string     // "" without a unified cgroup
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
// is kept).
func (c *nsexecCache) get(k nsexecKey, now time.Time, open func() (*nsexecEntry, error)) (*nsexecEntry, error) {
	c.mu.Lock()
	c.sweepLocked(now)
	if e, ok := c.entries[k]; ok {
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
		return old, nil
	}
	c.entries[k] = e
	return e, nil
}

// drop forgets k's entry (its process is gone, or joining its cgroups
// failed).
func (c *nsexecCache) drop(k nsexecKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(k)
}

func (c *nsexecCache) dropLocked(k nsexecKey) {
	delete(c.entries, k)
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

// len is the number of entries (tests).
func (c *nsexecCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// nsexecOpen finds the cgroups of process pid (started at start) as
// the fast path joins them.
func nsexecOpen(base nsexecSpec, pid int, start uint64) (*nsexecEntry, error) {
	tasks, unified, err := nsexecCgroups(pid)
	if err != nil {
		return nil, fmt.Errorf("cgroups of the container: %w", err)
	}
	if !alive(pid, start) {
		return nil, errors.New("container process gone")
	}
	e := &nsexecEntry{base: base, unified: unified}
	for _, cands := range tasks {
		found := ""
		for _, t := range cands {
			if _, err = os.Stat(t); !errors.Is(err, os.ErrNotExist) {
				found = t
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("cgroup: %w", err)
		}
		e.tasks = append(e.tasks, found)
	}
	return e, nil
}
