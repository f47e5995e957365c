package auth

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/peapod/peapod/internal/storage"
)

// StoreBoundObjects reads bound objects from storage.
type StoreBoundObjects struct{ Store storage.Interface }

var _ BoundObjects = StoreBoundObjects{}

// ServiceAccount implements BoundObjects.
func (s StoreBoundObjects) ServiceAccount(ctx context.Context, ns, name string) (ObjectState, bool, error) {
	return s.get(ctx, "/registry/serviceaccounts/"+ns+"/"+name, &corev1.ServiceAccount{})
}

// Pod implements BoundObjects.
func (s StoreBoundObjects) Pod(ctx context.Context, ns, name string) (ObjectState, bool, error) {
	return s.get(ctx, "/registry/pods/"+ns+"/"+name, &corev1.Pod{})
}

func (s StoreBoundObjects) get(ctx context.Context, key string, obj interface {
	runtime.Object
	metav1.Object
}) (ObjectState, bool, error) {
	if err := s.Store.Get(ctx, key, "", obj, false); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return ObjectState{}, false, nil
		}
		return ObjectState{}, false, err
	}
	return ObjectState{UID: string(obj.GetUID()), Deleting: obj.GetDeletionTimestamp() != nil}, true, nil
}
