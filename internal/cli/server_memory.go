package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
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
// stays at least, as a fraction of it (0.5: the live heap plus half):
// a limit the live heap grows into would make the collector run
// continuously. This is GOGC=50 once the live heap outgrows the base
// limit.
const memoryLimitHeadroom = 0.5

// memoryLimitCheck is how often the effective limit is recomputed.
const memoryLimitCheck = 5 * time.Second

// memoryLimitSamples: the limit follows the smallest live heap of the last
// few checks, so that a burst (a big LIST being encoded) does not raise it
// for long.
const memoryLimitSamples = 3

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

// effectiveMemoryLimit is the soft limit for the live heap sizes of the
// last checks: the base limit, raised to keep memoryLimitHeadroom above
// the smallest of them.
func effectiveMemoryLimit(base int64, lives []int64) int64 {
	if len(lives) == 0 {
		return base
	}
	live := lives[0]
	for _, l := range lives[1:] {
		live = min(live, l)
	}
	if floor := live + int64(float64(live)*memoryLimitHeadroom); floor > base {
		return floor
	}
	return base
}

// applyMemoryLimit sets the soft memory limit and keeps it above the live
// heap until ctx ends. It does nothing for "none" or when GOMEMLIMIT
// rules.
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
	go func() {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		t := time.NewTicker(memoryLimitCheck)
		defer t.Stop()
		last := s.base
		var lives []int64
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() != metrics.KindUint64 {
				return
			}
			lives = append(lives, int64(sample[0].Value.Uint64()))
			if len(lives) > memoryLimitSamples {
				lives = lives[1:]
			}
			if lim := effectiveMemoryLimit(s.base, lives); lim != last {
				debug.SetMemoryLimit(lim)
				last = lim
			}
		}
	}()
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
