package agent

import (
	"context"
	"errors"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/agent/volume"
)

// EventFailedMount is the kubelet's event for a volume that cannot be set up.
const EventFailedMount = "FailedMount"

// useObjects installs the object source (NoAPIServer when nil) and, when
// it reports changes, routes them to Run, which wakes the pods that
// reference the changed object. A full buffer drops the nudge: the
// workers rewrite their volumes every volumeRefreshEvery anyway.
func (m *Manager) useObjects(objs volume.ObjectSource) {
	if objs == nil {
		objs = volume.NoAPIServer{}
	}
	m.d.objects = objs
	m.objectChanges = make(chan volume.ObjectRef, 1024)
	if n, ok := objs.(volume.Notifier); ok {
		n.Subscribe(func(ref volume.ObjectRef) {
			select {
			case m.objectChanges <- ref:
			default:
			}
		})
	}
}

// wakeReferencing makes every worker whose pod uses ref sync now and
// rewrite its volumes.
func (m *Manager) wakeReferencing(ref volume.ObjectRef) {
	for _, w := range m.workers {
		if !w.orphan && volume.References(w.current(), ref) {
			w.objectChanged()
		}
	}
}

// refreshVolumes rewrites the API-backed volumes (secret, configMap,
// downwardAPI, projected) of a pod whose volumes are set up, so that
// changed objects, labels, annotations and expiring tokens reach the
// files. Env vars and subPath mounts never change. It writes only when
// an input may have changed (the pod, a referenced object, a new worker)
// or volumeRefreshEvery has passed (tokens due for renewal).
func (w *worker) refreshVolumes(ctx context.Context, pod *v1.Pod, now time.Time) {
	if w.orphan || w.volumesReleased || pod.DeletionTimestamp != nil {
		return
	}
	// Volumes this worker set up, or those of a pod found running after
	// an agent restart.
	if w.volumePaths == nil && (w.lastStatus == nil || w.lastStatus.Phase != v1.PodRunning) {
		return
	}
	w.mu.Lock()
	stale := w.volumesStale
	w.volumesStale = false
	w.mu.Unlock()
	if !stale && now.Sub(w.volumesRefreshedAt) < volumeRefreshEvery {
		return
	}
	w.volumesRefreshedAt = now
	if err := w.volumes.Refresh(ctx, pod, PodDir(w.dataDir, pod), w.objects); err != nil {
		w.failedMount(pod, err)
	}
}

// failedMount reports each volume that could not be set up.
func (w *worker) failedMount(pod *v1.Pod, err error) {
	if w.orphan {
		return
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		var se *volume.SetUpError
		if !errors.As(e, &se) {
			se = &volume.SetUpError{Err: e}
		}
		w.logf("pod %s: %v", podName(pod), se)
		w.events.Event(pod, "", v1.EventTypeWarning, EventFailedMount, se.Error())
	}
}
