package agent

import (
	"runtime/debug"
	"testing"
)

func TestExecMappings(t *testing.T) {
	maps := `00400000-02266000 r-xp 00000000 08:01 123 /usr/bin/peapod
02266000-04512000 r--p 01e66000 08:01 123 /usr/bin/peapod
04512000-045e5000 rw-p 04112000 08:01 123 /usr/bin/peapod
045e5000-04600000 rw-p 00000000 00:00 0
7f86aef07000-7f86af05d000 r-xp 00028000 08:01 77 /usr/lib/x86_64-linux-gnu/libc.so.6
7f86af05d000-7f86af05d000 r--p 00000000 08:01 123 /usr/bin/peapod
garbage line
`
	got := ExecMappings([]byte(maps), "/usr/bin/peapod")
	want := []ExecMapping{{0x400000, 0x2266000}, {0x2266000, 0x4512000}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("ExecMappings = %x, want %x", got, want)
	}
}

func TestDefaultGCPercent(t *testing.T) {
	oldLimit, oldGC := debug.SetMemoryLimit(-1), debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetMemoryLimit(oldLimit); debug.SetGCPercent(oldGC) })
	none := func(string) string { return "" }
	if got := SetDefaultGCPercent(none); got != DefaultGCPercent || debug.SetGCPercent(DefaultGCPercent) != DefaultGCPercent {
		t.Errorf("GC percent %d", got)
	}
	// Set by the environment: left as the runtime has it.
	debug.SetGCPercent(80)
	set := func(string) string { return "x" }
	if got := SetDefaultGCPercent(set); got != 80 || debug.SetGCPercent(80) != 80 {
		t.Errorf("GC percent with GOGC set: %d", got)
	}
}
