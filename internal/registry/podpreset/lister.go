package podpreset

import (
	"context"
	"fmt"

	settingsv1alpha1 "github.com/peapod/peapod/internal/apis/settings/v1alpha1"
	"github.com/peapod/peapod/internal/storage"
)

// StoreLister lists the presets of a namespace straight from storage, for
// the PodPreset admission plugin (admission.PodPresetLister). Each call is
// a quorum read, so a preset created just before a pod applies to it.
type StoreLister struct {
	store storage.Interface
}

// NewStoreLister returns a lister over store, which must hold podpresets
// under /registry/podpresets/<namespace>/<name> as the API edge writes them.
func NewStoreLister(store storage.Interface) *StoreLister {
	return &StoreLister{store: store}
}

// ListPodPresets returns the presets of namespace. Errors are storage's,
// wrapped.
func (l *StoreLister) ListPodPresets(ctx context.Context, namespace string) ([]*settingsv1alpha1.PodPreset, error) {
	key := "/registry/podpresets/" + namespace + "/"
	var list settingsv1alpha1.PodPresetList
	if err := l.store.GetList(ctx, key, storage.ListOptions{Recursive: true}, &list); err != nil {
		return nil, fmt.Errorf("listing podpresets in namespace %q: %w", namespace, err)
	}
	out := make([]*settingsv1alpha1.PodPreset, 0, len(list.Items))
	for i := range list.Items {
		if list.Items[i].Namespace == namespace {
			out = append(out, &list.Items[i])
		}
	}
	return out, nil
}
