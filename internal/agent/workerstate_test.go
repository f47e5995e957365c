package agent

import (
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestWorkerTransitions(t *testing.T) {
	w := newWorker(&deps{logf: t.Logf}, &v1.Pod{}, false)
	for _, step := range []struct {
		to workerState
		ok bool
	}{
		{stateSyncing, true}, {stateTerminating, true}, {stateTerminating, true},
		{stateSyncing, false}, {stateTerminated, true}, {stateTerminating, false},
	} {
		if err := w.transition(step.to); (err == nil) != step.ok {
			t.Fatalf("-> %s: err %v, want ok=%v", step.to, err, step.ok)
		}
	}
	if w.state != stateTerminated {
		t.Fatalf("state %s", w.state)
	}
}
