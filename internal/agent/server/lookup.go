package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/peapod/peapod/internal/runtime"
)

// RuntimeLister is what RuntimeLookup reads: the runtime's sandboxes and
// containers with the labels the agent gives them.
type RuntimeLister interface {
	ListPodSandboxes(ctx context.Context) ([]*runtime.SandboxStatus, error)
	ListContainers(ctx context.Context, filter runtime.ContainerFilter) ([]*runtime.ContainerStatus, error)
}

// RuntimeLookup finds pods by the runtime's labels (io.kubernetes.pod.*,
// io.kubernetes.container.name) and previous instances by the log files
// left in the container's log directory (<attempt>.log), so it also
// works for containers the agent has already removed.
type RuntimeLookup struct {
	RT RuntimeLister
}

var _ PodLookup = (*RuntimeLookup)(nil)

// NewRuntimeLookup returns a PodLookup over rt.
func NewRuntimeLookup(rt RuntimeLister) *RuntimeLookup { return &RuntimeLookup{RT: rt} }

// sandbox is the pod's current sandbox: the newest ready one, else the
// newest.
func (l *RuntimeLookup) sandbox(ctx context.Context, ns, pod string) (*runtime.SandboxStatus, error) {
	sbs, err := l.RT.ListPodSandboxes(ctx)
	if err != nil {
		return nil, err
	}
	var best *runtime.SandboxStatus
	for _, sb := range sbs {
		if sb.Namespace != ns || sb.Name != pod {
			continue
		}
		if best == nil || betterSandbox(sb, best) {
			best = sb
		}
	}
	if best == nil {
		return nil, fmt.Errorf("pod %s/%s: %w", ns, pod, ErrPodNotFound)
	}
	return best, nil
}

func betterSandbox(a, b *runtime.SandboxStatus) bool {
	if (a.State == runtime.SandboxReady) != (b.State == runtime.SandboxReady) {
		return a.State == runtime.SandboxReady
	}
	return a.CreatedAt.After(b.CreatedAt)
}

// LookupSandbox implements PodLookup.
func (l *RuntimeLookup) LookupSandbox(ctx context.Context, ns, pod string) (string, error) {
	sb, err := l.sandbox(ctx, ns, pod)
	if err != nil {
		return "", err
	}
	return sb.ID, nil
}

// LookupContainer implements PodLookup.
func (l *RuntimeLookup) LookupContainer(ctx context.Context, ns, pod, container string, previous bool) (ContainerRef, error) {
	sb, err := l.sandbox(ctx, ns, pod)
	if err != nil {
		return ContainerRef{}, err
	}
	cs, err := l.RT.ListContainers(ctx, runtime.ContainerFilter{Labels: map[string]string{
		runtime.LabelPodNamespace:  ns,
		runtime.LabelPodName:       pod,
		runtime.LabelPodUID:        sb.UID,
		runtime.LabelContainerName: container,
	}})
	if err != nil {
		return ContainerRef{}, err
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].Attempt != cs[j].Attempt {
			return cs[i].Attempt > cs[j].Attempt
		}
		return cs[i].CreatedAt.After(cs[j].CreatedAt)
	})
	if len(cs) == 0 {
		return ContainerRef{}, fmt.Errorf("container %q of pod %s/%s: %w", container, ns, pod, ErrContainerNotFound)
	}
	cur := ContainerRef{ID: cs[0].ID, LogPath: cs[0].LogPath, Attempt: cs[0].Attempt}
	if !previous {
		return cur, nil
	}
	if len(cs) > 1 {
		return ContainerRef{ID: cs[1].ID, LogPath: cs[1].LogPath, Attempt: cs[1].Attempt}, nil
	}
	// The previous instance was removed: its log file is what is left.
	if attempt, ok := previousAttempt(filepath.Dir(cur.LogPath), cur.Attempt); ok {
		return ContainerRef{LogPath: filepath.Join(filepath.Dir(cur.LogPath), strconv.FormatUint(uint64(attempt), 10)+".log"), Attempt: attempt}, nil
	}
	return ContainerRef{}, fmt.Errorf("container %q of pod %s/%s: %w", container, ns, pod, ErrNoPrevious)
}

// previousAttempt is the highest <n>.log in dir below current.
func previousAttempt(dir string, current uint32) (uint32, bool) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, false
	}
	var best uint32
	found := false
	for _, e := range ents {
		n, err := strconv.ParseUint(strings.TrimSuffix(e.Name(), ".log"), 10, 32)
		if err != nil || !strings.HasSuffix(e.Name(), ".log") || uint32(n) >= current {
			continue
		}
		if !found || uint32(n) > best {
			best, found = uint32(n), true
		}
	}
	return best, found
}
