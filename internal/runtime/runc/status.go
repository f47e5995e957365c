package runc

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"golang.org/x/sys/unix"

	"github.com/peapod/peapod/internal/runtime"
)

func sigOf(n int) unix.Signal {
	if n <= 0 {
		return unix.SIGTERM
	}
	return unix.Signal(n)
}

// ContainerStatus reports a container from its metadata, conmon's exit
// and oom files and its process.
func (d *Driver) ContainerStatus(ctx context.Context, id string) (*runtime.ContainerStatus, error) {
	c, err := d.getContainer(id)
	if err != nil {
		return nil, err
	}
	return d.containerStatus(c)
}

func (d *Driver) containerStatus(c *container) (*runtime.ContainerStatus, error) {
	m := c.meta()
	st := &runtime.ContainerStatus{
		ID: m.ID, SandboxID: m.SandboxID, Name: m.Name, Attempt: m.Attempt,
		Image: m.Image, ImageRef: m.ImageRef, CreatedAt: m.CreatedAt, StartedAt: m.StartedAt,
		PID: m.PID, LogPath: m.LogPath, Labels: m.Labels, Annotations: m.Annotations,
	}
	if m.StartError != "" {
		st.State, st.ExitCode, st.Reason, st.Message = runtime.ContainerExited, startErrorExitCode, "StartError", m.StartError
		st.FinishedAt = m.FinishedAt
		st.PID = 0
		return st, nil
	}
	code, at, exited, err := exitFile(d.exitPath(m.ID))
	if err != nil {
		return nil, err
	}
	if exited {
		st.State, st.ExitCode, st.FinishedAt, st.PID = runtime.ContainerExited, code, at, 0
		switch {
		case fileExists(filepath.Join(c.dir, "oom")):
			st.Reason = "OOMKilled"
		case code == 0:
			st.Reason = "Completed"
		default:
			st.Reason = "Error"
		}
		st.Message = terminationMessage(m, d.diskDir(m.ID), code)
		if !m.Started {
			// Killed before it was started.
			st.StartedAt = st.FinishedAt
		}
		return st, nil
	}
	switch {
	case alive(m.PID, m.PIDStart) && m.Started:
		st.State = runtime.ContainerRunning
	case alive(m.PID, m.PIDStart):
		st.State = runtime.ContainerCreated
	default:
		// The process is gone but conmon has not written the exit file
		// (yet, or it died too): Unknown until it appears.
		st.State = runtime.ContainerUnknown
	}
	return st, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ListContainers reports the containers matching filter, oldest first.
func (d *Driver) ListContainers(ctx context.Context, filter runtime.ContainerFilter) ([]*runtime.ContainerStatus, error) {
	d.mu.Lock()
	cs := make([]*container, 0, len(d.containers))
	for _, c := range d.containers {
		cs = append(cs, c)
	}
	d.mu.Unlock()
	var out []*runtime.ContainerStatus
	for _, c := range cs {
		m := c.meta()
		if filter.SandboxID != "" && m.SandboxID != filter.SandboxID {
			continue
		}
		match := true
		for k, v := range filter.Labels {
			if m.Labels[k] != v {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		st, err := d.containerStatus(c)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// logTail returns what the kubelet's readLastStringFromContainerLogs
// makes of the CRI log at path for a FallbackToLogsOnError message: its
// logs.ReadLogs with TailLines maxLines writes the content of each record
// of the last maxLines, stdout and stderr alike, into one circular buffer
// of maxBytes, so the message is the last maxBytes bytes of that.
// A full record's content keeps its newline (`echo boom` gives "boom\n"); a
// partial one's does not, so a line split over records comes out whole.
// Lines are the file's records (a partial record counts as one), and
// records that do not parse are skipped without counting. A missing or
// unreadable log gives "" (the kubelet would give its read error).
func logTail(path string, maxLines, maxBytes int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	start, err := tailLinesStart(f, fi.Size(), maxLines)
	if err != nil {
		return ""
	}
	r := bufio.NewReader(io.NewSectionReader(f, start, fi.Size()-start))
	var out []byte
	for n := 0; n < maxLines; {
		l, err := r.ReadBytes('\n')
		if content, ok := criLogContent(l); ok {
			out = append(out, content...)
			if len(out) > maxBytes {
				out = out[len(out)-maxBytes:]
			}
			n++
		}
		if err != nil {
			break
		}
	}
	return string(out)
}

// tailLinesStart returns the offset in f (size bytes) where its last n
// lines start, as the kubelet's tail.FindTailLineStartIndex: a line ends
// in '\n', an unterminated last one is not counted, and a file of n lines
// or fewer starts at 0. It reads f backwards a block at a time, only as
// far as the lines go.
func tailLinesStart(f io.ReaderAt, size int64, n int) (int64, error) {
	const blockSize = 4096
	buf := make([]byte, blockSize)
	seen := 0
	for end := size; end > 0; end -= blockSize {
		off := max(end-blockSize, 0)
		b := buf[:end-off]
		if _, err := f.ReadAt(b, off); err != nil {
			return 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != '\n' {
				continue
			}
			if seen == n {
				return off + int64(i) + 1, nil
			}
			seen++
		}
	}
	return 0, nil
}

// criLogContent returns the content of one record of a CRI log
// ("<time> <stream> <tag> <content>\n", as conmon writes it) the way the
// kubelet's parseCRILog does: the time must be RFC 3339, the stream stdout
// or stderr, and the newline is dropped only from a partial ("P") record,
// whose line continues in the next record.
func criLogContent(l []byte) ([]byte, bool) {
	ts, rest, ok := bytes.Cut(l, []byte{' '})
	if !ok {
		return nil, false
	}
	if _, err := time.Parse(time.RFC3339Nano, string(ts)); err != nil {
		return nil, false
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok || (string(stream) != "stdout" && string(stream) != "stderr") {
		return nil, false
	}
	tags, content, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return nil, false
	}
	// Tags are ':'-separated; the first says partial or full.
	if tag, _, _ := bytes.Cut(tags, []byte{':'}); string(tag) == "P" {
		content = bytes.TrimSuffix(content, []byte{'\n'})
	}
	return content, true
}
