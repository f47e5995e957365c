package runc

import (
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The fast exec path's threads. Each exec runs on an OS thread that is
// locked to its goroutine for good and never given back to Go's
// scheduler, because what it is set up with cannot be undone: its own
// fs_struct (unshare CLONE_FS, needed to setns into a mount namespace), a
// capability bounding set cut down to the container's, no_new_privs.
//
// Creating and destroying a thread per exec cost about a fifth of an exec
// probe's CPU, so such threads are pooled by what they carry for good:
// the bounding set kept and no_new_privs. An exec takes an idle thread of
// its container's kind (or a new one); on it, it joins the container's
// cgroups and namespaces, forks the command, then goes back home: it
// writes itself back to the agent's cgroups (nsexec_join.go) and setns's
// back into the agent's namespaces, at once through a pidfd of an anchor
// thread that never leaves them (nsexecAnchor), or, on kernels without
// thread pidfds, through descriptors the thread opened on itself before
// it first left. A thread that cannot get home is
// discarded (its goroutine ends still locked), so no thread waits in the
// pool anywhere but in the agent's namespaces and cgroups.

// nsexecThreadKey is what a pooled thread carries for good.
type nsexecThreadKey struct {
	caps       uint64 // bit n: capability n is kept in the bounding set
	noNewPrivs bool
}

// nsexecHomeNamespaces are the namespaces a pooled thread without an
// anchor returns to (through descriptors it opened on itself when it was
// made), in the order it setns's back into them.
var nsexecHomeNamespaces = []struct {
	name string
	flag int
}{
	{"net", unix.CLONE_NEWNET},
	{"ipc", unix.CLONE_NEWIPC},
	{"uts", unix.CLONE_NEWUTS},
	{"cgroup", unix.CLONE_NEWCGROUP},
	{"pid", unix.CLONE_NEWPID}, // the active one: pid_for_children back to the agent's
	{"mnt", unix.CLONE_NEWNS},
}

// nsexecHomeFlags are all the namespaces an exec thread leaves (and, with
// the anchor, returns into at once).
const nsexecHomeFlags = unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWPID | unix.CLONE_NEWNS

// nsexecAnchor is a pidfd of a thread that never leaves the agent's
// namespaces, or -1. A pooled thread goes home with one setns(2) through
// it instead of one per namespace through its own descriptors: the kernel
// makes a new nsproxy per setns call, so six calls cost about twice the
// single one (~8 µs an exec). A pidfd of a thread that is not the
// thread-group leader needs PIDFD_THREAD (Linux 6.9); without it threads
// keep their own descriptors.
var nsexecAnchor = sync.OnceValue(func() int {
	tid := make(chan int)
	go func() {
		// Locked for good and parked: the thread runs nothing else, so
		// it stays in the namespaces Go made it in, the agent's (Go
		// creates threads from a thread in the process's own state).
		goruntime.LockOSThread()
		tid <- unix.Gettid()
		select {}
	}()
	fd, err := unix.PidfdOpen(<-tid, nsexecPidfdThread)
	if err != nil {
		return -1
	}
	return fd
})

// nsexecPidfdThread is PIDFD_THREAD (<linux/pidfd.h>: O_EXCL): a pidfd of
// a thread rather than of its thread group.
const nsexecPidfdThread = unix.O_EXCL

// nsexecThreadJob runs on a pooled thread; it returns false when the
// thread could not be brought home and must be discarded.
type nsexecThreadJob func(home *nsexecThreadHome) (keep bool)

// nsexecThreadHome is a pooled thread's way back: the anchor's namespaces,
// or its own as they were when it was made.
type nsexecThreadHome struct {
	anchor int   // nsexecAnchor, or -1
	ns     []int // without an anchor: descriptors, in nsexecHomeNamespaces' order
}

// goHome setns's the thread back into the agent's namespaces.
func (h *nsexecThreadHome) goHome() error {
	if h.anchor >= 0 {
		if err := rawSetns(h.anchor, nsexecHomeFlags); err != nil {
			return fmt.Errorf("back to the agent's namespaces: %w", err)
		}
		return nil
	}
	for i, fd := range h.ns {
		if err := rawSetns(fd, nsexecHomeNamespaces[i].flag); err != nil {
			return fmt.Errorf("back to the agent's %s namespace: %w", nsexecHomeNamespaces[i].name, err)
		}
	}
	return nil
}

// openOwn opens the calling thread's own namespaces, the way back when
// there is no anchor.
func (h *nsexecThreadHome) openOwn() error {
	self := fmt.Sprintf("/proc/self/task/%d/ns/", unix.Gettid())
	for _, ns := range nsexecHomeNamespaces {
		fd, err := unix.Open(self+ns.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			h.close()
			return fmt.Errorf("the agent's %s namespace: %w", ns.name, &os.PathError{Op: "open", Path: self + ns.name, Err: err})
		}
		h.ns = append(h.ns, fd)
	}
	return nil
}

// close closes the thread's own descriptors (the anchor is the process's).
func (h *nsexecThreadHome) close() {
	for _, fd := range h.ns {
		unix.Close(fd)
	}
	h.ns = nil
}

// nsexecThread is one pooled thread, fed through jobs.
type nsexecThread struct {
	jobs     chan nsexecThreadJob
	idleFrom time.Time
}

// nsexecThreadPool keeps idle threads per key; at most maxIdle per key,
// each for at most idleFor.
type nsexecThreadPool struct {
	maxIdle int
	idleFor time.Duration

	mu   sync.Mutex
	idle map[nsexecThreadKey][]*nsexecThread
}

// nsexecThreads is the agent process's pool (threads are the process's).
// Probes due at the same instant (the agent's ticks share a grid) exec
// together: with at most 4 idle threads per kind, 110 exec probes a second
// made and ended some 38 threads a second (and a third more context
// switches); 16 cover such bursts, and idle ones end after a minute.
var nsexecThreads = &nsexecThreadPool{maxIdle: 16, idleFor: time.Minute, idle: map[nsexecThreadKey][]*nsexecThread{}}

// run runs job on a thread of kind k and waits for it. An error means no
// thread of that kind could be made (job did not run).
func (p *nsexecThreadPool) run(k nsexecThreadKey, job nsexecThreadJob) error {
	t := p.take(k, time.Now())
	if t == nil {
		var err error
		if t, err = nsexecNewThread(k); err != nil {
			return err
		}
	}
	done := make(chan bool, 1)
	t.jobs <- func(h *nsexecThreadHome) bool {
		keep := job(h)
		done <- keep
		return keep
	}
	if <-done {
		p.put(k, t, time.Now())
	}
	return nil
}

// take returns an idle thread of kind k, or nil; it ends threads that
// have been idle longer than idleFor.
func (p *nsexecThreadPool) take(k nsexecThreadKey, now time.Time) *nsexecThread {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, ts := range p.idle {
		kept := ts[:0]
		for _, t := range ts {
			if now.Sub(t.idleFrom) > p.idleFor {
				close(t.jobs)
				continue
			}
			kept = append(kept, t)
		}
		p.idle[key] = kept
	}
	ts := p.idle[k]
	if len(ts) == 0 {
		return nil
	}
	t := ts[len(ts)-1]
	p.idle[k] = ts[:len(ts)-1]
	return t
}

// put returns t to the pool, or ends it when k has maxIdle idle threads.
func (p *nsexecThreadPool) put(k nsexecThreadKey, t *nsexecThread, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle[k]) >= p.maxIdle {
		close(t.jobs)
		return
	}
	t.idleFrom = now
	p.idle[k] = append(p.idle[k], t)
}

// nsexecNewThread starts a thread of kind k: locked, with its own
// fs_struct, its way home, and k's restrictions.
func nsexecNewThread(k nsexecThreadKey) (*nsexecThread, error) {
	t := &nsexecThread{jobs: make(chan nsexecThreadJob)}
	ready := make(chan error, 1)
	serve := func() {
		// Never unlocked: the thread ends with this goroutine.
		goruntime.LockOSThread()
		home, err := nsexecSetUpThread(k)
		ready <- err
		if err != nil {
			return
		}
		defer home.close()
		for job := range t.jobs {
			if !job(home) {
				return
			}
		}
	}
	go func() {
		goruntime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			serve()
			return
		}
		// The main thread is never discarded (Go parks it for good
		// instead): while it stays locked to this goroutine, serve on
		// another thread, then give it back untouched.
		inner := make(chan struct{})
		go func() {
			defer close(inner)
			serve()
		}()
		<-inner
		goruntime.UnlockOSThread()
	}()
	if err := <-ready; err != nil {
		return nil, fmt.Errorf("%w: %v", errNsexecUnavailable, err)
	}
	return t, nil
}

// nsexecSetUpThread prepares the calling locked thread for kind k.
func nsexecSetUpThread(k nsexecThreadKey) (*nsexecThreadHome, error) {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return nil, fmt.Errorf("unshare CLONE_FS: %w", err)
	}
	home := &nsexecThreadHome{anchor: nsexecAnchor()}
	if home.anchor < 0 {
		if err := home.openOwn(); err != nil {
			return nil, err
		}
	}
	if err := restrictThread(k.caps, k.noNewPrivs); err != nil {
		home.close()
		return nil, errors.Join(errors.New("privileges"), err)
	}
	return home, nil
}
