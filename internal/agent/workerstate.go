package agent

import "fmt"

// workerState is where a pod worker is in its life:
//
//	syncing --(deletionTimestamp set / pod left its source)--> terminating
//	terminating --(nothing runs any more)--> terminated (teardown, goroutine ends)
//
// A worker never goes back: a pod that comes back gets a new worker once
// the old one has terminated.
type workerState int

const (
	stateSyncing workerState = iota
	stateTerminating
	stateTerminated
)

func (s workerState) String() string {
	switch s {
	case stateSyncing:
		return "syncing"
	case stateTerminating:
		return "terminating"
	case stateTerminated:
		return "terminated"
	}
	return fmt.Sprintf("workerState(%d)", int(s))
}

// transition moves the worker to next. Moving back is an error; staying
// is a no-op.
func (w *worker) transition(next workerState) error {
	switch {
	case next == w.state:
		return nil
	case next < w.state:
		return fmt.Errorf("pod worker: illegal transition %s -> %s", w.state, next)
	}
	w.logf("pod %s: %s -> %s", podName(w.current()), w.state, next)
	w.state = next
	return nil
}
