package runc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// procStart returns the start time (clock ticks since boot, field 22 of
// /proc/<pid>/stat) that tells a process from a later one with the same PID.
func procStart(pid int) (uint64, error) {
	start, _, err := procStat(pid)
	return start, err
}

// procStat returns pid's start time and one-letter state ("Z" for a
// zombie) from one read of /proc/<pid>/stat. It is on every status call
// of every sandbox and container, so it reads into a stack buffer and
// parses in place.
func procStat(pid int) (start uint64, state string, err error) {
	var pathBuf [32]byte
	path := strconv.AppendInt(append(pathBuf[:0], "/proc/"...), int64(pid), 10)
	path = append(path, "/stat"...)
	fd, err := unix.Open(string(path), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, "", &os.PathError{Op: "open", Path: string(path), Err: err}
	}
	var buf [1024]byte
	n, err := unix.Read(fd, buf[:])
	unix.Close(fd)
	if err != nil {
		return 0, "", &os.PathError{Op: "read", Path: string(path), Err: err}
	}
	return parseProcStat(buf[:max(n, 0)], pid)
}

// parseProcStat reads state (field 3) and starttime (field 22) of a
// /proc/<pid>/stat line.
func parseProcStat(b []byte, pid int) (start uint64, state string, err error) {
	// The command name may hold spaces and parens: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, "", fmt.Errorf("bad /proc/%d/stat", pid)
	}
	rest := b[i+1:]
	for field := 3; field <= 22; field++ {
		for len(rest) > 0 && rest[0] == ' ' {
			rest = rest[1:]
		}
		end := bytes.IndexAny(rest, " \n")
		if end < 0 {
			end = len(rest)
		}
		if end == 0 {
			return 0, "", fmt.Errorf("short /proc/%d/stat", pid)
		}
		switch field {
		case 3:
			state = procStateString(rest[:end])
		case 22:
			start, err = strconv.ParseUint(string(rest[:end]), 10, 64)
			return start, state, err
		}
		rest = rest[end:]
	}
	return 0, "", fmt.Errorf("short /proc/%d/stat", pid)
}

// procStateString returns the state letter without allocating for the
// usual ones.
func procStateString(b []byte) string {
	if len(b) == 1 {
		switch b[0] {
		case 'R':
			return "R"
		case 'S':
			return "S"
		case 'D':
			return "D"
		case 'Z':
			return "Z"
		case 'T':
			return "T"
		case 'I':
			return "I"
		}
	}
	return string(b)
}

// alive reports whether pid is still the process that started at start
// (and not a zombie).
func alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	s, state, err := procStat(pid)
	return err == nil && s == start && state != "Z"
}

// signalProcess sends sig to pid if it is still the process that started at start.
func signalProcess(pid int, start uint64, sig unix.Signal) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return nil
		}
		return err
	}
	defer unix.Close(fd)
	if !alive(pid, start) {
		return nil
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return err
	}
	return nil
}

// exitFile reads an exit status written by conmon; ok is false while the
// file does not exist.
func exitFile(path string) (code int32, at time.Time, ok bool, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, time.Time{}, false, nil
		}
		return 0, time.Time{}, false, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, time.Time{}, false, err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		// conmon creates then writes; treat a half-written file as absent.
		return 0, time.Time{}, false, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, time.Time{}, false, fmt.Errorf("exit file %s: %q: %w", path, s, err)
	}
	return int32(n), fi.ModTime(), true, nil
}

// waitFile polls for path to exist, until timeout (≤0: check once).
func waitFile(path string, timeout time.Duration) bool {
	return waitFileCtx(context.Background(), path, timeout)
}

// waitFileCtx is waitFile that also gives up when ctx ends.
func waitFileCtx(ctx context.Context, path string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	interval := time.Millisecond
	for {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(interval):
		}
		if interval < 5*time.Millisecond {
			interval += interval / 2
		}
	}
}

// cgroupMounts lists the cgroup hierarchies (v1 controllers, named and
// unified) mounted under /sys/fs/cgroup.
func cgroupMounts() []string {
	ents, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		p := filepath.Join("/sys/fs/cgroup", e.Name())
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			out = append(out, p)
		}
	}
	return out
}

// removeCgroup removes the cgroup rel (relative to each hierarchy's root)
// in every hierarchy; a cgroup that does not exist is fine, a busy one is
// left (reported by the return value).
func removeCgroup(rel string) error {
	rel = strings.Trim(rel, "/")
	if rel == "" {
		return nil
	}
	var errs []error
	for _, h := range cgroupMounts() {
		p := filepath.Join(h, rel)
		if err := unix.Rmdir(p); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("removing cgroup %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// emptyMemoryCgroup has the kernel reclaim what is still charged to the
// v1 memory cgroup rel of a stopped container (its page cache: files it
// read or wrote) before the cgroup is removed. Otherwise the removed
// cgroup lingers in the kernel as a "dying" memcg for as long as a page
// of it stays cached, and a node that churns pods collects hundreds of
// them, which slow down charging, reclaim and cgroup work for everyone
// (the kernel's cgroup-v1 memory.rst names this use of memory.force_empty).
// Best effort: no v1 memory hierarchy, a cgroup already gone or one with
// processes left (EBUSY) just skip it.
func emptyMemoryCgroup(rel string) {
	rel = strings.Trim(rel, "/")
	if rel == "" {
		return
	}
	fd, err := unix.Open(filepath.Join("/sys/fs/cgroup/memory", rel, "memory.force_empty"), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	unix.Write(fd, []byte("0"))
	unix.Close(fd)
}

// killCgroup sends SIGKILL to every process of the container's cgroup
// (the pids hierarchy), repeating until it is empty or timeout passes:
// with a shared PID namespace the container's children survive its main
// process otherwise.
func killCgroup(cgroupsPath string, timeout time.Duration) {
	procs := filepath.Join("/sys/fs/cgroup/pids", cgroupsPath, "cgroup.procs")
	deadline := time.Now().Add(timeout)
	// Never ourselves.
	self := os.Getpid()
	for {
		b, err := os.ReadFile(procs)
		if err != nil {
			return
		}
		pids := strings.Fields(string(b))
		if len(pids) == 0 || time.Now().After(deadline) {
			return
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil && pid != self {
				unix.Kill(pid, unix.SIGKILL)
			}
		}
		time.Sleep(time.Millisecond)
	}
}
