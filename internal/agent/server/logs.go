package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/peapod/peapod/internal/runtime"
)

// lineReader returns complete lines; an unfinished last line is kept
// until the rest of it is written, so a followed file can be read again
// after EOF.
type lineReader struct {
	br      *bufio.Reader
	partial []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next complete line with its newline, or (nil, io.EOF).
// The line is valid until the next call.
func (l *lineReader) next() ([]byte, error) {
	for {
		line, err := l.br.ReadSlice('\n')
		switch {
		case err == nil && len(l.partial) == 0:
			return line, nil
		case err == nil:
			l.partial = append(l.partial, line...)
			line, l.partial = l.partial, l.partial[:0:0]
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			l.partial = append(l.partial, line...)
		default:
			l.partial = append(l.partial, line...)
			return nil, err
		}
	}
}

// serveLogs streams a container's log as text/plain, as the kubelet's
// /containerLogs does.
func (s *server) serveLogs(w http.ResponseWriter, r *http.Request) {
	ns, pod, container := r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container")
	opts, err := parseLogOptions(r.URL.Query(), s.cfg.Now())
	if err != nil {
		writeStatus(w, apierrors.NewBadRequest(err.Error()))
		return
	}
	ctx := r.Context()
	ref, err := s.cfg.Pods.LookupContainer(ctx, ns, pod, container, opts.previous)
	if err != nil {
		writeStatus(w, lookupError(err, pod, container))
		return
	}
	f, err := os.Open(ref.LogPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		writeStatus(w, apierrors.NewInternalError(err))
		return
	}
	if f != nil {
		defer f.Close()
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush()
	follow := opts.follow && !opts.previous && ref.ID != ""
	if f == nil {
		// No output yet: with follow, wait for the file.
		if f = s.waitLogFile(ctx, ref, follow); f == nil {
			return
		}
		defer f.Close()
	}
	if opts.tail >= 0 {
		off, err := tailOffset(f, opts.tail)
		if err != nil {
			s.cfg.Logf("logs %s/%s/%s: %v", ns, pod, container, err)
			return
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return
		}
	}
	lw := newLogWriter(w, opts)
	err = s.copyLog(ctx, f, lw, ref, follow, func() { rc.Flush() })
	if err != nil && !errors.Is(err, errLimitReached) && ctx.Err() == nil {
		s.cfg.Logf("logs %s/%s/%s: %v", ns, pod, container, err)
	}
}

// copyLog writes the log from f's offset; with follow it keeps reading
// until the container has exited and the file is drained.
func (s *server) copyLog(ctx context.Context, f io.Reader, lw *logWriter, ref ContainerRef, follow bool, flush func()) error {
	lr := newLineReader(f)
	exited := false
	ticker := (*time.Ticker)(nil)
	for {
		line, err := lr.next()
		if err == nil {
			e, perr := parseCRILine(line)
			if perr != nil {
				continue // not ours to fail on: skip it as the kubelet does
			}
			if werr := lw.write(e); werr != nil {
				return werr
			}
			continue
		}
		if err != io.EOF {
			return err
		}
		flush()
		if !follow || exited {
			break
		}
		// Read once more after the container is seen gone: what it wrote
		// before exiting is then in the file.
		exited = !s.running(ctx, ref.ID)
		if exited {
			continue
		}
		if ticker == nil {
			ticker = time.NewTicker(s.cfg.FollowPoll)
			defer ticker.Stop()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
	if err := lw.flush(); err != nil {
		return err
	}
	flush()
	return nil
}

// waitLogFile opens the log once it exists; nil if it never will (the
// container is gone, or no follow) or ctx ends.
func (s *server) waitLogFile(ctx context.Context, ref ContainerRef, follow bool) *os.File {
	if !follow {
		return nil
	}
	ticker := time.NewTicker(s.cfg.FollowPoll)
	defer ticker.Stop()
	for {
		if f, err := os.Open(ref.LogPath); err == nil {
			return f
		}
		if !s.running(ctx, ref.ID) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// running reports whether the container may still write to its log.
func (s *server) running(ctx context.Context, id string) bool {
	if id == "" {
		return false
	}
	st, err := s.cfg.Runtime.ContainerStatus(ctx, id)
	if err != nil {
		return false
	}
	return st.State == runtime.ContainerRunning || st.State == runtime.ContainerCreated
}
