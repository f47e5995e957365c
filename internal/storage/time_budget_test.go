package storage

import (
	"testing"
	"time"
)

func TestTimeBudget(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := newTimeBudget(t0)
	if got := b.take(t0); got != maxDispatchBudget {
		t.Fatalf("first take = %v, want %v", got, maxDispatchBudget)
	}
	if got := b.take(t0); got != 0 {
		t.Fatalf("take right after = %v, want 0", got)
	}
	if got := b.take(t0.Add(time.Second)); got != dispatchBudgetRefill {
		t.Fatalf("take after 1s = %v, want %v", got, dispatchBudgetRefill)
	}
	b.giveBack(30 * time.Millisecond)
	if got := b.take(t0.Add(time.Second)); got != 30*time.Millisecond {
		t.Fatalf("take after giving back 30ms = %v", got)
	}
	if got := b.take(t0.Add(time.Hour)); got != maxDispatchBudget {
		t.Fatalf("take after an hour = %v, want the cap %v", got, maxDispatchBudget)
	}
	b.giveBack(time.Hour)
	if got := b.take(t0.Add(time.Hour)); got != maxDispatchBudget {
		t.Fatalf("giveBack beyond the cap: take = %v", got)
	}
}
