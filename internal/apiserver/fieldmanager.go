package apiserver

import (
	"fmt"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	clientgotesting "k8s.io/client-go/testing"
	"sigs.k8s.io/structured-merge-diff/v4/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v4/typed"
	"sigs.k8s.io/structured-merge-diff/v4/value"

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
	converter := sameVersionConverter{scheme}
	fms := &fieldManagers{byKey: map[fmKey]*managedfields.FieldManager{}}
	for _, r := range resources {
		gvk := r.GVK()
		var tc managedfields.TypeConverter = builtin
		probe := r.New()
		probe.GetObjectKind().SetGroupVersionKind(gvk)
		if _, err := builtin.ObjectToTyped(probe); err != nil {
			tc = deduced // kinds client-go does not know (PodPreset)
		} else {
			tc = newKindTypeConverter(builtin, gvk, reflect.TypeOf(probe).Elem())
		}
		subs := []string{""}
		for _, sub := range []string{"status", "ephemeralcontainers"} {
			if hasSubresource(r, sub) {
				subs = append(subs, sub)
			}
		}
		for _, sub := range subs {
			fm, err := managedfields.NewDefaultFieldManager(tc, converter, noDefaults{}, scheme, gvk, gvk.GroupVersion(), sub, resetFields(sub))
			if err != nil {
				return nil, fmt.Errorf("field manager for %v: %w", gvk, err)
			}
			fms.byKey[fmKey{gvk, sub}] = fm
		}
	}
	return fms, nil
}

// resetFields is what a subresource's writers may own: through
// ephemeralcontainers only spec.ephemeralContainers, as kube's
// podEphemeralContainersStrategy.GetResetFieldsFilter (the rest of the
// request is replaced by the stored object before it is written).
func resetFields(sub string) map[fieldpath.APIVersion]fieldpath.Filter {
	if sub != "ephemeralcontainers" {
		return nil
	}
	return map[fieldpath.APIVersion]fieldpath.Filter{
		"v1": fieldpath.NewIncludeMatcherFilter(fieldpath.MakePrefixMatcherOrDie("spec", "ephemeralContainers")),
	}
}

func (f *fieldManagers) get(gvk schema.GroupVersionKind, sub string) *managedfields.FieldManager {
	if fm, ok := f.byKey[fmKey{gvk, sub}]; ok {
		return fm
	}
	return f.byKey[fmKey{gvk, ""}]
}

// kindTypeConverter is client-go's TypeConverter for one built-in kind,
// with the kind's schema type resolved once: client-go's resolves it on
// every conversion (allocating an example object and formatting its
// OpenAPI name), and every write converts two objects.
type kindTypeConverter struct {
	managedfields.TypeConverter // client-go's: TypedToObject and other kinds
	gvk                         schema.GroupVersionKind
	typ                         typed.ParseableType
}

func newKindTypeConverter(builtin *clientgotesting.TypeConverter, gvk schema.GroupVersionKind, t reflect.Type) managedfields.TypeConverter {
	return &kindTypeConverter{TypeConverter: builtin, gvk: gvk, typ: builtin.TypeResolver.Type(openAPIName(t))}
}

// ObjectToTyped implements managedfields.TypeConverter.
func (c *kindTypeConverter) ObjectToTyped(obj runtime.Object, opts ...typed.ValidationOptions) (*typed.TypedValue, error) {
	if obj.GetObjectKind().GroupVersionKind() != c.gvk {
		return c.TypeConverter.ObjectToTyped(obj, opts...)
	}
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return c.typ.FromUnstructured(u.UnstructuredContent(), opts...)
	}
	if allowsDuplicates(opts) {
		// The field managers convert the live and the new object of every
		// write with AllowDuplicates, then compare or merge them, which
		// walks both and reports the same errors (an element of a keyed
		// list without its key) as validation would. Validating a Go
		// struct against its own schema first only repeats that walk.
		v, err := value.NewValueReflect(obj)
		if err != nil {
			return nil, fmt.Errorf("error creating struct value reflector: %v", err)
		}
		return typed.AsTypedUnvalidated(v, c.typ.Schema, c.typ.TypeRef), nil //nolint:staticcheck // see above
	}
	return c.typ.FromStructured(obj, opts...)
}

func allowsDuplicates(opts []typed.ValidationOptions) bool {
	for _, o := range opts {
		if o == typed.AllowDuplicates {
			return true
		}
	}
	return false
}

// openAPIName is the OpenAPI definition name of a Go type, as client-go
// derives it: "k8s.io/api/core/v1.Pod" is "io.k8s.api.core.v1.Pod".
func openAPIName(t reflect.Type) string {
	parts := strings.Split(t.PkgPath()+"."+t.Name(), "/")
	if len(parts) > 0 && strings.Contains(parts[0], ".") {
		host := strings.Split(parts[0], ".")
		for i, j := 0, len(host)-1; i < j; i, j = i+1, j-1 {
			host[i], host[j] = host[j], host[i]
		}
		parts[0] = strings.Join(host, ".")
	}
	return strings.Join(parts, ".")
}

// sameVersionConverter is the field managers' object converter: an
// object already of the requested version is used as it is. The scheme's
// ConvertToVersion deep-copies it first; the field managers only read the
// converted object, and every write converts two. Anything else
// (unstructured objects from server-side apply, other versions) goes
// through the scheme.
type sameVersionConverter struct {
	*runtime.Scheme
}

// ConvertToVersion implements runtime.ObjectConvertor.
func (c sameVersionConverter) ConvertToVersion(in runtime.Object, target runtime.GroupVersioner) (runtime.Object, error) {
	if _, unstructured := in.(runtime.Unstructured); !unstructured {
		gvk := in.GetObjectKind().GroupVersionKind()
		if gv, ok := target.(schema.GroupVersion); ok && !gvk.Empty() && gvk.GroupVersion() == gv {
			return in, nil
		}
	}
	return c.Scheme.ConvertToVersion(in, target)
}
