package e2e

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/runtime"
)

// TestRuntimeWatchExits: the runc driver reports the exit of a container
// and of a sandbox's infra container, with their pod's UID, as conmon
// records them (the agent's settled pods rely on it instead of polling);
// execs into the container report nothing.
func TestRuntimeWatchExits(t *testing.T) {
	e := runtimeNewEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	exits, err := e.d.WatchExits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.sandboxConfig("exits")
	sb := e.runPod(cfg)
	// It exits once the exec has run (an exec reports no exit event).
	id := e.start(sb, v1.Container{Name: "short", Command: []string{"sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 3"}})
	e.exec(id, "touch", "/tmp/go")
	next := func(what string) runtime.Exit {
		t.Helper()
		select {
		case ev, ok := <-exits:
			if !ok {
				t.Fatalf("%s: channel closed", what)
			}
			return ev
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no exit event in 10 s", what)
		}
		return runtime.Exit{}
	}
	if ev := next("container"); ev.ID != id || ev.PodUID != cfg.UID {
		t.Errorf("container exit: got %+v, want ID %s pod %s", ev, id, cfg.UID)
	}
	// The status agrees once the event is out.
	if st, err := e.d.ContainerStatus(ctx, id); err != nil || st.State != runtime.ContainerExited || st.ExitCode != 3 {
		t.Errorf("status after the event: %+v, %v", st, err)
	}
	if err := e.d.StopPodSandbox(ctx, sb); err != nil {
		t.Fatal(err)
	}
	if ev := next("sandbox"); ev.ID != sb || ev.PodUID != cfg.UID {
		t.Errorf("sandbox exit: got %+v, want ID %s pod %s", ev, sb, cfg.UID)
	}
	cancel()
	for range exits {
	}
}
