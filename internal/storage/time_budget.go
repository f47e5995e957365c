package storage

import "time"

// Slow watchers: when a watcher's input buffer is full, the cacher waits
// for it, as kube-apiserver's cacher does, but only for a bounded time
// shared by all watchers: a budget of at most maxDispatchBudget that
// refills at dispatchBudgetRefill per second. A watcher still full when
// the wait ends is ended (its client re-watches from its last
// resourceVersion). A watcher that falls behind for a moment under load
// is thus kept; one that stays behind cannot stall the others for long.
const (
	maxDispatchBudget    = 100 * time.Millisecond
	dispatchBudgetRefill = 50 * time.Millisecond // per second
)

// timeBudget is the blocking budget. It is pure: the caller passes the
// time; only the cacher's run goroutine uses it.
type timeBudget struct {
	available time.Duration
	last      time.Time
}

func newTimeBudget(now time.Time) timeBudget {
	return timeBudget{available: maxDispatchBudget, last: now}
}

func (b *timeBudget) refill(now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.available += time.Duration(float64(d) / float64(time.Second) * float64(dispatchBudgetRefill))
		b.available = min(b.available, maxDispatchBudget)
		b.last = now
	}
}

// take returns all of the budget available at now.
func (b *timeBudget) take(now time.Time) time.Duration {
	b.refill(now)
	d := b.available
	b.available = 0
	return d
}

// giveBack returns what was not used of a taken budget.
func (b *timeBudget) giveBack(unused time.Duration) {
	if unused > 0 {
		b.available = min(b.available+unused, maxDispatchBudget)
	}
}
