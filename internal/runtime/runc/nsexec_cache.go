package runc

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// nsexecProcs keeps, per container process, what every fast exec into it
// needs and what does not change while the process runs: the part of its
// spec the fast path reads, its pidfd, and its cgroups opened (the v1
// `tasks` files, the unified directory). A probe then costs one write per
// hierarchy instead of a path walk and an open each, and no config.json
// or /proc/<pid>/cgroup read.
//
// It is keyed by the process (container, PID and start time) and holds
// only process-wide resources (descriptors), so it is the process's, not
// a Driver's. Open cgroup files do not keep a cgroup from being removed
// (kernfs: a write to a removed cgroup's file fails with ENODEV; see
// TestNsexecCacheReleasesCgroups), and entries of processes that are gone
// are closed at the next sweep.
var nsexecProcs = newNsexecCache(nsexecSweepEvery)

// nsexecSweepEvery is how often the cache drops the entries of processes
// that are gone.
const nsexecSweepEvery = 10 * time.Second

type nsexecKey struct {
	id    string
	pid   int
	start uint64
}

// nsexecEntry is one process's cached spec and descriptors. refs counts
// the execs using it; a dropped entry is closed when the last one ends.
type nsexecEntry struct {
	base    nsexecSpec // without args
	pidfd   int
	tasks   []*os.File
	unified *os.File // nil without a unified cgroup

	refs    int
	dropped bool
}

func (e *nsexecEntry) close() {
	if e.pidfd >= 0 {
		unix.Close(e.pidfd)
	}
	for _, f := range e.tasks {
		f.Close()
	}
	if e.unified != nil {
		e.unified.Close()
	}
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
// is kept). The caller releases it with put.
func (c *nsexecCache) get(k nsexecKey, now time.Time, open func() (*nsexecEntry, error)) (*nsexecEntry, error) {
	c.mu.Lock()
	c.sweepLocked(now)
	if e, ok := c.entries[k]; ok {
		e.refs++
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
		old.refs++
		return old, nil
	}
	e.refs = 1
	c.entries[k] = e
	return e, nil
}

// put releases an entry got from get.
func (c *nsexecCache) put(e *nsexecEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.refs--; e.refs == 0 && e.dropped {
		e.close()
	}
}

// drop forgets k's entry (its process is gone or a descriptor failed);
// it is closed once no exec uses it.
func (c *nsexecCache) drop(k nsexecKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(k)
}

func (c *nsexecCache) dropLocked(k nsexecKey) {
	e, ok := c.entries[k]
	if !ok {
		return
	}
	delete(c.entries, k)
	e.dropped = true
	if e.refs == 0 {
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
		if !nsexecAlive(k.pid, k.start) {
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

// nsexecOpen opens what the fast path needs of process pid (started at
// start): its pidfd (checked to be that process) and its cgroups, in the
// agent's mount namespace.
func nsexecOpen(base nsexecSpec, pid int, start uint64) (e *nsexecEntry, err error) {
	e = &nsexecEntry{base: base, pidfd: -1}
	defer func() {
		if err != nil {
			e.close()
			e = nil
		}
	}()
	tasks, unified, err := nsexecCgroups(pid)
	if err != nil {
		return nil, fmt.Errorf("cgroups of the container: %w", err)
	}
	if e.pidfd, err = unix.PidfdOpen(pid, 0); err != nil {
		return nil, fmt.Errorf("pidfd of the container: %w", err)
	}
	if !nsexecAlive(pid, start) {
		return nil, errors.New("container process gone")
	}
	for _, cands := range tasks {
		var f *os.File
		for _, t := range cands {
			if f, err = os.OpenFile(t, os.O_WRONLY, 0); !errors.Is(err, os.ErrNotExist) {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("open cgroup: %w", err)
		}
		e.tasks = append(e.tasks, f)
	}
	if unified != "" {
		if e.unified, err = os.OpenFile(unified, os.O_RDONLY|unix.O_DIRECTORY, 0); err != nil {
			return nil, fmt.Errorf("open the unified cgroup: %w", err)
		}
	}
	return e, nil
}
