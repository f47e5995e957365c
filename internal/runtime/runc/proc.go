package runc

import (
	"bytes"
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
// zombie) from one read of /proc/<pid>/stat.
func procStat(pid int) (start uint64, state string, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, "", err
	}
	// The command name may hold spaces and parens: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, "", fmt.Errorf("bad /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 {
		return 0, "", fmt.Errorf("short /proc/%d/stat", pid)
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	return start, f[0], err
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
	deadline := time.Now().Add(timeout)
	interval := time.Millisecond
	for {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
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

// killCgroup sends SIGKILL to every process of the container's cgroup
// (the pids hierarchy), repeating until it is empty or timeout passes:
// with a shared PID namespace the container's children survive its main
// process otherwise.
func killCgroup(cgroupsPath string, timeout time.Duration) {
	procs := filepath.Join("/sys/fs/cgroup/pids", cgroupsPath, "cgroup.procs")
	deadline := time.Now().Add(timeout)
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
			if pid, err := strconv.Atoi(p); err == nil {
				unix.Kill(pid, unix.SIGKILL)
			}
		}
		time.Sleep(time.Millisecond)
	}
}
