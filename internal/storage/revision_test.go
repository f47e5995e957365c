package storage

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeRevisions is a read of the current revision that the test releases
// one at a time; each read returns its sequence number.
type fakeRevisions struct {
	started chan struct{}
	release chan error
	mu      sync.Mutex
	reads   int64
}

func newFakeRevisions() *fakeRevisions {
	return &fakeRevisions{started: make(chan struct{}, 16), release: make(chan error)}
}

func (f *fakeRevisions) read(ctx context.Context) (int64, error) {
	f.mu.Lock()
	f.reads++
	n := f.reads
	f.mu.Unlock()
	f.started <- struct{}{}
	if err := <-f.release; err != nil {
		return 0, err
	}
	return n, nil
}

func TestRevisionBatcherNeverReusesAReadStartedBeforeTheCall(t *testing.T) {
	f := newFakeRevisions()
	b := newRevisionBatcher(f.read)
	ctx := context.Background()

	first := make(chan int64)
	go func() { r, _ := b.get(ctx); first <- r }()
	<-f.started // read 1 is in flight

	// Three callers arrive while read 1 is in flight: they must share
	// read 2, which starts only after read 1 ends.
	later := make(chan int64, 3)
	calling := make(chan struct{}, 3)
	for i := 0; i < 3; i++ {
		go func() { calling <- struct{}{}; r, _ := b.get(ctx); later <- r }()
	}
	for i := 0; i < 3; i++ {
		<-calling
	}
	time.Sleep(20 * time.Millisecond) // let them join
	f.release <- nil
	if r := <-first; r != 1 {
		t.Fatalf("first caller got read %d, want 1", r)
	}
	<-f.started
	f.release <- nil
	for i := 0; i < 3; i++ {
		if r := <-later; r != 2 {
			t.Fatalf("a caller that arrived during read 1 got read %d, want 2", r)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reads != 2 {
		t.Fatalf("%d reads, want 2", f.reads)
	}
}

func TestRevisionBatcherErrorsAndCancel(t *testing.T) {
	f := newFakeRevisions()
	b := newRevisionBatcher(f.read)
	boom := errors.New("boom")

	done := make(chan error)
	go func() { _, err := b.get(context.Background()); done <- err }()
	<-f.started
	f.release <- boom
	if err := <-done; !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}

	// A caller that gives up does not fail the read others wait for.
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error)
	go func() { _, err := b.get(ctx); gaveUp <- err }()
	<-f.started
	stays := make(chan int64)
	go func() { r, _ := b.get(context.Background()); stays <- r }()
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	f.release <- nil // read 2 (the cancelled caller's)
	<-f.started
	f.release <- nil // read 3 (the one that stayed joined it after read 2 started)
	if r := <-stays; r != 3 {
		t.Fatalf("got read %d, want 3", r)
	}
}
