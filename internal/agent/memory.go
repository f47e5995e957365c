package agent

import (
	"bufio"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultMemoryLimit is the Go runtime's soft memory limit of a standalone
// agent when GOMEMLIMIT is not set (see docs/agent.md): the heap is
// collected harder as the runtime's memory nears it, and never refused.
// The agent command keeps the effective limit above the live heap.
const DefaultMemoryLimit = 64 << 20

// DefaultGCPercent is the GOGC of a standalone agent when GOGC is not
// set: the heap grows by half its live size between collections (Go's
// default doubles it). The agent's live heap is small (about 10 MB with
// 110 pods), so the extra collections cost little CPU.
const DefaultGCPercent = 50

// SetDefaultGCPercent sets DefaultGCPercent unless GOGC is set, and
// returns the percentage in effect.
func SetDefaultGCPercent(getenv func(string) string) int {
	if getenv("GOGC") != "" {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	debug.SetGCPercent(DefaultGCPercent)
	return DefaultGCPercent
}

// ExecMapping is one read-only, file-backed mapping of the executable.
type ExecMapping struct {
	Start, End uintptr
}

// ExecMappings parses /proc/self/maps content: the read-only mappings of
// the file exe (code and constant data, never written).
func ExecMappings(maps []byte, exe string) []ExecMapping {
	var out []ExecMapping
	sc := bufio.NewScanner(strings.NewReader(string(maps)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[5] != exe || strings.Contains(f[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || b <= a {
			continue
		}
		out = append(out, ExecMapping{Start: uintptr(a), End: uintptr(b)})
	}
	return out
}

// ReleaseExecPages asks the kernel to reclaim the resident pages of the
// executable's code and constant data (madvise MADV_PAGEOUT). The agent
// is the whole peapod binary: the package initialisation of the server's
// code and the kernel's fault-around leave some 50 MB of it resident that
// the agent never touches again. Pages in use fault back in from the file
// (clean, never written); pages another process maps too are left alone by
// the kernel. It returns the bytes advised.
func ReleaseExecPages() (int64, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, err
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	var n int64
	for _, m := range ExecMappings(maps, exe) {
		if _, _, e := unix.Syscall(unix.SYS_MADVISE, m.Start, m.End-m.Start, unix.MADV_PAGEOUT); e != 0 {
			return n, fmt.Errorf("madvise(MADV_PAGEOUT): %w", e)
		}
		n += int64(m.End - m.Start)
	}
	return n, nil
}
