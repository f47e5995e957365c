package prober

import (
	"context"
	"fmt"
	"net"
	"os"
	goruntime "runtime"

	"golang.org/x/sys/unix"
)

// Target is where a pod's network probes go: the pod IP (the default
// host) and the sandbox's network namespace, which the dialer enters to
// create its socket so that listeners on the pod's loopback answer too.
// An empty NetNS (hostNetwork) dials from the agent's namespace.
type Target struct {
	PodIP string
	NetNS string
}

// DialContext connects to addr: to the pod IP from the node, as the
// kubelet does (no namespace switch: a fraction of the cost); to any other
// host (127.0.0.1, a name) from inside the target's network namespace.
func (t Target) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	// No TCP keep-alive: a probe's connection lives for one request (and
	// the four setsockopt calls are a measurable part of a probe).
	d := net.Dialer{KeepAlive: -1}
	if t.NetNS == "" || t.podIPAddr(addr) {
		return d.DialContext(ctx, network, addr)
	}
	var (
		conn net.Conn
		err  error
	)
	// A fresh goroutine on a locked thread: the socket is created in the
	// pod's namespace; if the thread cannot be switched back it is thrown
	// away (the goroutine exits locked).
	done := make(chan struct{})
	go func() {
		defer close(done)
		goruntime.LockOSThread()
		restore, nerr := enterNetNS(t.NetNS)
		if nerr != nil {
			goruntime.UnlockOSThread()
			err = nerr
			return
		}
		conn, err = d.DialContext(ctx, network, addr)
		if restore() == nil {
			goruntime.UnlockOSThread()
		}
	}()
	<-done
	return conn, err
}

// podIPAddr reports whether addr (host:port) is the pod IP.
func (t Target) podIPAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || t.PodIP == "" {
		return false
	}
	a, b := net.ParseIP(host), net.ParseIP(t.PodIP)
	return a != nil && a.Equal(b)
}

// enterNetNS switches the calling (locked) thread into the namespace at
// path and returns the switch back.
func enterNetNS(path string) (func() error, error) {
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		return nil, fmt.Errorf("current network namespace: %w", err)
	}
	target, err := os.Open(path)
	if err != nil {
		orig.Close()
		return nil, fmt.Errorf("pod network namespace: %w", err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		orig.Close()
		return nil, fmt.Errorf("entering the pod network namespace: %w", err)
	}
	return func() error {
		defer orig.Close()
		return unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET)
	}, nil
}
