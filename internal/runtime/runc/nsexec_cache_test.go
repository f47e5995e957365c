package runc

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestNsexecCacheGetDropSweep(t *testing.T) {
	c := newNsexecCache(time.Minute)
	opened := 0
	open := func() (*nsexecEntry, error) {
		opened++
		return &nsexecEntry{tasks: []nsexecTasksFile{{path: strconv.Itoa(opened)}}, unified: -1, pidfd: -1}, nil
	}
	// This test's process (running) and one that is not (PID 0 never has
	// a /proc entry).
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	start, _ := strconv.ParseUint(f[19], 10, 64)
	live := nsexecKey{id: "live", pid: os.Getpid(), start: start}
	gone := nsexecKey{id: "gone", pid: 0, start: 1}
	t0 := time.Now()
	e1, _ := c.get(gone, t0, open)
	e2, _ := c.get(gone, t0, open)
	if e1 != e2 || opened != 1 {
		t.Fatalf("second get opened again (%d opens)", opened)
	}
	c.release(e1)
	c.release(e2)
	c.drop(gone)
	if e3, _ := c.get(gone, t0, open); e3 == e1 || opened != 2 {
		t.Fatal("a dropped entry was reused")
	}
	c.get(live, t0.Add(30*time.Second), open)
	if c.len() != 2 {
		t.Fatal("swept before its period")
	}
	// The sweep (due a minute after the first get) drops the entry of the
	// process that is not running; an open error is returned, nothing kept.
	if _, err := c.get(nsexecKey{id: "x"}, t0.Add(2*time.Minute), func() (*nsexecEntry, error) { return nil, errors.New("x") }); err == nil {
		t.Fatal("open error lost")
	}
	if c.len() != 1 {
		t.Fatalf("sweep left %d entries, want the live one", c.len())
	}
	if e, _ := c.get(live, t0.Add(2*time.Minute), open); e.tasks[0].path != "3" {
		t.Fatal("the live entry was not kept")
	}
}

// TestNsexecCacheUsers: a dropped entry's descriptors stay open until its
// last user gives it back.
func TestNsexecCacheUsers(t *testing.T) {
	c := newNsexecCache(time.Minute)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[1])
	k := nsexecKey{id: "a", pid: 1, start: 1}
	e, err := c.get(k, time.Now(), func() (*nsexecEntry, error) {
		return &nsexecEntry{unified: -1, pidfd: p[0]}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	isOpen := func() bool { _, err := unix.FcntlInt(uintptr(p[0]), unix.F_GETFD, 0); return err == nil }
	c.drop(k)
	if !isOpen() {
		t.Fatal("closed while in use")
	}
	c.release(e)
	if isOpen() {
		t.Fatal("still open after the last user gave it back")
	}
}

// TestNsexecCacheRunning: a cached process is running until it exits
// (its pidfd says so, zombie or reaped); an uncached one is not known.
func TestNsexecCacheRunning(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pidfd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := newNsexecCache(time.Minute)
	k := nsexecKey{id: "a", pid: cmd.Process.Pid, start: 1}
	e, _ := c.get(k, time.Now(), func() (*nsexecEntry, error) { return &nsexecEntry{unified: -1, pidfd: pidfd}, nil })
	c.release(e)
	if !c.running(k) {
		t.Error("a running process is not running")
	}
	if c.running(nsexecKey{id: "b", pid: cmd.Process.Pid, start: 1}) {
		t.Error("an uncached process is running")
	}
	cmd.Process.Kill()
	deadline := time.Now().Add(5 * time.Second)
	for c.running(k) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // the zombie, not reaped yet
	}
	if c.running(k) {
		t.Error("an exited process is running")
	}
	cmd.Wait()
	if c.running(k) {
		t.Error("a reaped process is running")
	}
	c.drop(k)
}

func TestParseNofile(t *testing.T) {
	limits := "Limit                     Soft Limit           Hard Limit           Units     \n" +
		"Max processes             95212                95212                processes \n" +
		"Max open files            1024                 20000                files     \n"
	if got := parseNofile(limits); got == nil || got.Cur != 1024 || got.Max != 20000 {
		t.Errorf("parseNofile = %+v, want 1024/20000", got)
	}
	if got := parseNofile("Max open files            unlimited            unlimited            files\n"); got == nil || got.Cur != unix.RLIM_INFINITY || got.Max != unix.RLIM_INFINITY {
		t.Errorf("unlimited: %+v", got)
	}
	for _, bad := range []string{"", "Max open files            x 2 files\n", "Max open files\n"} {
		if got := parseNofile(bad); got != nil {
			t.Errorf("parseNofile(%q) = %+v, want nil", bad, got)
		}
	}
}
