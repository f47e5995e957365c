package server

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/peapod/peapod/internal/runtime"
)

// fakeLookup is a PodLookup over fixed refs keyed "ns/pod/container"
// (current) and "ns/pod/container/previous"; sandboxes keyed "ns/pod".
type fakeLookup struct {
	refs      map[string]ContainerRef
	sandboxes map[string]string
}

var _ PodLookup = (*fakeLookup)(nil)

func (f *fakeLookup) LookupContainer(_ context.Context, ns, pod, container string, previous bool) (ContainerRef, error) {
	if _, ok := f.sandboxes[ns+"/"+pod]; !ok {
		return ContainerRef{}, ErrPodNotFound
	}
	key := ns + "/" + pod + "/" + container
	if previous {
		key += "/previous"
	}
	ref, ok := f.refs[key]
	switch {
	case !ok && previous:
		return ContainerRef{}, ErrNoPrevious
	case !ok:
		return ContainerRef{}, ErrContainerNotFound
	}
	return ref, nil
}

func (f *fakeLookup) LookupSandbox(_ context.Context, ns, pod string) (string, error) {
	id, ok := f.sandboxes[ns+"/"+pod]
	if !ok {
		return "", ErrPodNotFound
	}
	return id, nil
}

// fakeStreamer: containers in `running` are Running, others Exited.
// Exec runs tiny scripts: "echo X" writes X to stdout, "err X" to
// stderr, "cat" copies stdin, "exit N" returns N; "tty" reports the TTY
// flag and the first resize.
type fakeStreamer struct {
	mu      sync.Mutex
	running map[string]bool
	forward map[int32]string // port -> greeting written before echoing
	// blockStarted is closed when a "block" command starts; blocked
	// receives ctx.Err() when its context ends.
	blockStarted chan struct{}
	blocked      chan error
}

var _ Streamer = (*fakeStreamer)(nil)

func (f *fakeStreamer) setRunning(id string, r bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running[id] = r
}

func (f *fakeStreamer) ContainerStatus(_ context.Context, id string) (*runtime.ContainerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.running[id]
	if !ok {
		return nil, runtime.ErrNotFound
	}
	st := &runtime.ContainerStatus{ID: id, State: runtime.ContainerExited}
	if r {
		st.State = runtime.ContainerRunning
	}
	return st, nil
}

func (f *fakeStreamer) Exec(ctx context.Context, id string, cmd []string, s runtime.Streams) (int, error) {
	// client-go's WebSocket executor starts reading before it has
	// registered its streams and drops frames for streams it does not
	// know yet; a real exec (runc) takes tens of milliseconds to write
	// anything, so do not answer faster than the client can listen (with
	// room for a loaded machine).
	time.Sleep(100 * time.Millisecond)
	code := 0
	for _, c := range cmd {
		verb, arg, _ := strings.Cut(c, " ")
		switch verb {
		case "echo":
			fmt.Fprintln(s.Stdout, arg)
		case "err":
			fmt.Fprintln(s.Stderr, arg)
		case "cat":
			io.Copy(s.Stdout, s.Stdin)
		case "exit":
			fmt.Sscan(arg, &code)
		case "tty":
			fmt.Fprintf(s.Stdout, "tty=%v", s.TTY)
			if s.Resize != nil {
				sz := <-s.Resize
				fmt.Fprintf(s.Stdout, " size=%dx%d", sz.Width, sz.Height)
			}
			fmt.Fprintln(s.Stdout)
		case "block":
			close(f.blockStarted)
			<-ctx.Done()
			f.blocked <- ctx.Err()
			return -1, ctx.Err()
		case "fail":
			return -1, fmt.Errorf("runc exec: %s", arg)
		}
	}
	return code, nil
}

func (f *fakeStreamer) Attach(_ context.Context, id string, s runtime.Streams) error {
	time.Sleep(10 * time.Millisecond) // as Exec
	fmt.Fprintf(s.Stdout, "attached to %s\n", id)
	if s.Stdin != nil {
		io.Copy(s.Stdout, s.Stdin)
	}
	return nil
}

func (f *fakeStreamer) PortForward(_ context.Context, sandboxID string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	greeting, ok := f.forward[port]
	if !ok {
		return fmt.Errorf("port %d: connection refused", port)
	}
	fmt.Fprintf(stream, "%s from %s:%d\n", greeting, sandboxID, port)
	_, err := io.Copy(stream, stream)
	return err
}
