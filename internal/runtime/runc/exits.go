package runc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/peapod/peapod/internal/runtime"
)

// WatchExits reports the exits of the driver's containers and sandboxes
// as conmon records them: conmon writes <exits>/<id> when the process it
// watches exits, and an inotify watch on that directory turns each such
// file into a runtime.Exit. The agent then needs no per-second poll of
// every pod to notice a container that died (as the kubelet's evented
// PLEG needs no relist). An inotify queue overflow is reported as an Exit
// without an ID: every pod should look again. The channel is closed when
// ctx ends.
func (d *Driver) WatchExits(ctx context.Context) (<-chan runtime.Exit, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	// conmon writes the exit file in place (IN_CLOSE_WRITE) or renames a
	// temporary one onto it (IN_MOVED_TO), depending on its version.
	if _, err := unix.InotifyAddWatch(fd, d.dirs.exits, unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify watch %s: %w", d.dirs.exits, err)
	}
	// Non-blocking: reads wait in Go's poller, not on a thread.
	f := os.NewFile(uintptr(fd), "inotify:"+d.dirs.exits)
	out := make(chan runtime.Exit, 256)
	stop := context.AfterFunc(ctx, func() { f.Close() })
	go func() {
		defer close(out)
		defer stop()
		defer f.Close()
		buf := make([]byte, 16<<10)
		for {
			n, err := f.Read(buf)
			if err != nil {
				if !errors.Is(err, os.ErrClosed) && ctx.Err() == nil {
					d.cfg.Logf("runtime: exit watch ended: %v", err)
				}
				return
			}
			for _, name := range inotifyNames(buf[:n]) {
				e := runtime.Exit{}
				if name != "" {
					e = runtime.Exit{ID: name, PodUID: d.podUIDOf(name)}
					if e.PodUID == "" {
						continue // an exec session's, or an object already removed
					}
				}
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// inotifyNames parses a buffer of inotify events into the names of their
// files; an overflow of the kernel's queue gives "".
func inotifyNames(b []byte) []string {
	var names []string
	for len(b) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		end := unix.SizeofInotifyEvent + int(ev.Len)
		if end > len(b) {
			break
		}
		switch {
		case ev.Mask&unix.IN_Q_OVERFLOW != 0:
			names = append(names, "")
		case ev.Len > 0:
			name := b[unix.SizeofInotifyEvent:end]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if len(name) > 0 {
				names = append(names, string(name))
			}
		}
		b = b[end:]
	}
	return names
}

// podUIDOf is the pod UID of container or sandbox id (a container's is
// its sandbox's), "" if the driver knows neither.
func (d *Driver) podUIDOf(id string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.containers[id]; ok {
		id = c.meta().SandboxID
	}
	if sb, ok := d.sandboxes[id]; ok {
		if m := sb.meta(); m.Config != nil {
			return m.Config.UID
		}
	}
	return ""
}
