package runc

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"

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

// logTail returns the message part of the last lines of a CRI log
// (at most maxLines lines and maxBytes bytes), joining partial lines.
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
	const window = 64 << 10
	off := fi.Size() - window
	if off < 0 {
		off = 0
	}
	buf := make([]byte, fi.Size()-off)
	n, _ := f.ReadAt(buf, off)
	buf = buf[:n]
	if off > 0 {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	var lines []string
	cur := ""
	for _, l := range strings.Split(strings.TrimRight(string(buf), "\n"), "\n") {
		// <time> <stream> <P|F> <message>
		parts := strings.SplitN(l, " ", 4)
		if len(parts) < 4 {
			continue
		}
		cur += parts[3]
		if parts[2] == "F" {
			lines = append(lines, cur)
			cur = ""
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	s := strings.Join(lines, "\n")
	if len(s) > maxBytes {
		s = s[len(s)-maxBytes:]
	}
	return s
}
