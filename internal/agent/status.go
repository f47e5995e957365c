package agent

import (
	"sort"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// StatusSink is the single owner of pod statuses. Workers publish every
// status they compute; the API-backed status manager implements it later.
type StatusSink interface {
	// SetPodStatus records pod's latest status.
	SetPodStatus(pod *v1.Pod, status v1.PodStatus)
	// PodTerminated is called once a deleted pod's containers and sandboxes
	// are gone (where the API status manager sends the final delete).
	PodTerminated(pod *v1.Pod)
}

// MemoryStatus keeps the latest status of each pod in memory (static pods).
type MemoryStatus struct {
	mu   sync.Mutex
	pods map[types.UID]*v1.Pod
}

var _ StatusSink = (*MemoryStatus)(nil)

// NewMemoryStatus returns an empty store.
func NewMemoryStatus() *MemoryStatus {
	return &MemoryStatus{pods: map[types.UID]*v1.Pod{}}
}

// SetPodStatus stores a copy of pod with status.
func (m *MemoryStatus) SetPodStatus(pod *v1.Pod, status v1.PodStatus) {
	p := pod.DeepCopy()
	p.Status = *status.DeepCopy()
	m.mu.Lock()
	m.pods[pod.UID] = p
	m.mu.Unlock()
}

// PodTerminated forgets the pod.
func (m *MemoryStatus) PodTerminated(pod *v1.Pod) {
	m.mu.Lock()
	delete(m.pods, pod.UID)
	m.mu.Unlock()
}

// Pods returns copies of the known pods, sorted by namespace and name.
func (m *MemoryStatus) Pods() []v1.Pod {
	m.mu.Lock()
	out := make([]v1.Pod, 0, len(m.pods))
	for _, p := range m.pods {
		out = append(out, *p.DeepCopy())
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}
