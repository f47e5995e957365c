package apiserver

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"

	"github.com/peapod/peapod/internal/registry"
)

// fieldManagers keeps one managedfields.FieldManager per kind and
// subresource: managedFields are maintained on every write, and
// server-side apply merges through them.
type fieldManagers struct {
	byKey map[fmKey]*managedfields.FieldManager
}

type fmKey struct {
	gvk schema.GroupVersionKind
	sub string
}

// noDefaults is the ObjectDefaulter of the field managers: peapod applies
// defaults in admission, not in the scheme.
type noDefaults struct{}

func (noDefaults) Default(runtime.Object) {}

func newFieldManagers(scheme *runtime.Scheme, resources []*registry.Resource) (*fieldManagers, error) {
	builtin := applyconfigurations.NewTypeConverter(scheme)
	deduced := managedfields.NewDeducedTypeConverter()
	fms := &fieldManagers{byKey: map[fmKey]*managedfields.FieldManager{}}
	for _, r := range resources {
		gvk := r.GVK()
		var tc managedfields.TypeConverter = builtin
		probe := r.New()
		probe.GetObjectKind().SetGroupVersionKind(gvk)
		if _, err := builtin.ObjectToTyped(probe); err != nil {
			tc = deduced // kinds client-go does not know (PodPreset)
		}
		subs := []string{""}
		if hasSubresource(r, "status") {
			subs = append(subs, "status")
		}
		for _, sub := range subs {
			fm, err := managedfields.NewDefaultFieldManager(tc, scheme, noDefaults{}, scheme, gvk, gvk.GroupVersion(), sub, nil)
			if err != nil {
				return nil, fmt.Errorf("field manager for %v: %w", gvk, err)
			}
			fms.byKey[fmKey{gvk, sub}] = fm
		}
	}
	return fms, nil
}

func (f *fieldManagers) get(gvk schema.GroupVersionKind, sub string) *managedfields.FieldManager {
	if fm, ok := f.byKey[fmKey{gvk, sub}]; ok {
		return fm
	}
	return f.byKey[fmKey{gvk, ""}]
}
