package runc

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestNsexecCacheRefsAndSweep(t *testing.T) {
	c := newNsexecCache(time.Minute)
	opened := 0
	var files []*os.File
	open := func() (*nsexecEntry, error) {
		opened++
		f, err := os.Create(filepath.Join(t.TempDir(), "tasks"))
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		return &nsexecEntry{pidfd: -1, tasks: []*os.File{f}}, nil
	}
	closed := func(i int) bool { _, err := files[i].Stat(); return errors.Is(err, os.ErrClosed) }
	t0 := time.Now()
	// A process that does not exist (PID 0 never has a /proc entry).
	gone := nsexecKey{id: "a", pid: 0, start: 1}
	e1, _ := c.get(gone, t0, open)
	e2, _ := c.get(gone, t0, open)
	if e1 != e2 || opened != 1 {
		t.Fatalf("second get opened again (%d opens)", opened)
	}
	// Dropped while in use: closed when the last user puts it back.
	c.drop(gone)
	if closed(0) {
		t.Fatal("closed while in use")
	}
	c.put(e1)
	if closed(0) {
		t.Fatal("closed while still in use")
	}
	c.put(e2)
	if !closed(0) || c.len() != 0 {
		t.Fatal("not closed after the last put")
	}
	// A new entry; the sweep (due after a minute) drops it as its process
	// is not running.
	e3, _ := c.get(gone, t0, open)
	c.put(e3)
	e4, _ := c.get(nsexecKey{id: "b", pid: 0, start: 2}, t0.Add(30*time.Second), open)
	c.put(e4)
	if c.len() != 2 || closed(1) {
		t.Fatal("swept before its period")
	}
	if _, err := c.get(nsexecKey{id: "c"}, t0.Add(2*time.Minute), func() (*nsexecEntry, error) { return nil, errors.New("x") }); err == nil {
		t.Fatal("open error lost")
	}
	if c.len() != 0 || !closed(1) || !closed(2) {
		t.Fatalf("sweep left %d entries", c.len())
	}
}
