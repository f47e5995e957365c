package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/peapod/peapod/internal/agent"
)

// defaultMemoryLimit is the Go soft memory limit `peapod server` sets when
// neither --memory-limit nor GOMEMLIMIT says otherwise. With it the
// garbage collector runs before the heap doubles and returns freed memory
// to the system, rather than letting the process grow to twice its live
// heap after every burst (a 10,000-pod LIST, a create storm).
const defaultMemoryLimit = 112 << 20

// memoryLimitHeadroom is how far above the live heap the effective limit
// stays at least, as a fraction of it (0.5: the live heap plus half, on
// top of the runtime's memory outside the heap): a limit the live heap
// grows into would make the collector run continuously. This is GOGC=50
// once the live heap outgrows the base limit.
const memoryLimitHeadroom = 0.5

// memoryLimitSetting is what --memory-limit asks for.
type memoryLimitSetting struct {
	base int64 // bytes; 0: no limit
	// fromEnv: GOMEMLIMIT is set and --memory-limit was left at "auto";
	// the runtime already applies it and peapod leaves it alone.
	fromEnv bool
}

// parseMemoryLimit reads --memory-limit: "auto" (defaultMemoryLimit unless
// GOMEMLIMIT is set in env), "none" or "0" (no limit), or a quantity such
// as 256Mi or 1G.
func parseMemoryLimit(flag, env string) (memoryLimitSetting, error) {
	switch strings.TrimSpace(flag) {
	case "", "auto":
		if env != "" {
			return memoryLimitSetting{fromEnv: true}, nil
		}
		return memoryLimitSetting{base: defaultMemoryLimit}, nil
	case "none", "0":
		return memoryLimitSetting{}, nil
	}
	q, err := resource.ParseQuantity(flag)
	if err != nil {
		return memoryLimitSetting{}, fmt.Errorf("--memory-limit %q: want auto, none or a size such as 256Mi: %w", flag, err)
	}
	n, ok := q.AsInt64()
	if !ok || n < 0 {
		return memoryLimitSetting{}, fmt.Errorf("--memory-limit %q: want auto, none or a size such as 256Mi", flag)
	}
	return memoryLimitSetting{base: n}, nil
}

// effectiveMemoryLimit is the soft limit for a live heap of live bytes
// and nonHeap bytes of runtime memory outside the heap (stacks, runtime
// metadata): the base limit, raised to keep memoryLimitHeadroom above the
// live heap.
func effectiveMemoryLimit(base, live, nonHeap int64) int64 {
	if floor := nonHeap + live + int64(float64(live)*memoryLimitHeadroom); floor > base {
		return floor
	}
	return base
}

// applyMemoryLimit sets the soft memory limit and, after every garbage
// collection until ctx ends, keeps it above the live heap. It does nothing
// for "none" or when GOMEMLIMIT rules. Following each collection (rather
// than sampling every few seconds) matters: a server whose live heap
// outgrows the base (5,000 nodes and their pods) otherwise collects
// continuously until the next sample, which cut the scheduler's bindings
// to a third.
func applyMemoryLimit(ctx context.Context, s memoryLimitSetting, log *slog.Logger) {
	if s.fromEnv {
		log.Info("memory limit from GOMEMLIMIT", "GOMEMLIMIT", os.Getenv("GOMEMLIMIT"))
		return
	}
	if s.base == 0 {
		return
	}
	debug.SetMemoryLimit(s.base)
	log.Info("soft memory limit set (--memory-limit)", "bytes", s.base)
	samples := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	last := s.base
	afterEachGC(ctx, func() {
		metrics.Read(samples)
		var v [6]int64
		for i, sm := range samples {
			if sm.Value.Kind() != metrics.KindUint64 {
				return
			}
			v[i] = int64(sm.Value.Uint64())
		}
		nonHeap := v[1] - v[2] - v[3] - v[4] - v[5]
		if lim := effectiveMemoryLimit(s.base, v[0], max(nonHeap, 0)); lim != last {
			debug.SetMemoryLimit(lim)
			last = lim
		}
	})
}

// afterEachGC calls f (on the runtime's finalizer goroutine) after every
// garbage collection until ctx ends: a sentinel object's finalizer runs
// f and arms a new sentinel.
func afterEachGC(ctx context.Context, f func()) {
	type sentinel struct{ _ *byte } // holds a pointer: never a tiny allocation, whose finalizer may not run
	var arm func()
	arm = func() {
		runtime.SetFinalizer(&sentinel{}, func(*sentinel) {
			if ctx.Err() != nil {
				return
			}
			f()
			arm()
		})
	}
	arm()
}

// serverReleaseExecEvery is how often the server gives back the resident
// pages of its executable that it no longer uses.
const serverReleaseExecEvery = 10 * time.Minute

// releaseServerExecPages gives back the resident pages of the executable's
// code and constant data (agent.ReleaseExecPages) now, once start-up is
// done, and then every serverReleaseExecEvery. Start-up (package
// initialisation of the whole binary, the kernel's fault-around) leaves
// some 50 MB of the ~100 MB binary resident, much of it never run again;
// pages in use fault back in from the page cache.
func releaseServerExecPages(ctx context.Context, log *slog.Logger) {
	for {
		n, err := agent.ReleaseExecPages()
		if err != nil {
			log.Warn("releasing the executable's unused pages (not retried)", "err", err)
			return
		}
		log.Debug("released the executable's unused pages", "advised-bytes", n)
		select {
		case <-ctx.Done():
			return
		case <-time.After(serverReleaseExecEvery):
		}
	}
}
