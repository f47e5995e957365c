package v1alpha1

import (
	"encoding/json"
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/randfill"
)

// allowDatabaseJSON is the Kubernetes documentation's example preset.
const allowDatabaseJSON = `{
  "apiVersion": "settings.k8s.io/v1alpha1",
  "kind": "PodPreset",
  "metadata": {"name": "allow-database", "namespace": "default"},
  "spec": {
    "selector": {"matchLabels": {"role": "frontend"}},
    "env": [{"name": "DB_PORT", "value": "6379"}],
    "envFrom": [{"configMapRef": {"name": "etcd-env-config"}}],
    "volumeMounts": [{"mountPath": "/cache", "name": "cache-volume"}],
    "volumes": [{"name": "cache-volume", "emptyDir": {}}]
  }
}`

func newScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDecodeUpstreamJSON(t *testing.T) {
	codecs := serializer.NewCodecFactory(newScheme(t))
	obj, gvk, err := codecs.UniversalDeserializer().Decode([]byte(allowDatabaseJSON), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := SchemeGroupVersion.WithKind("PodPreset"); *gvk != want {
		t.Fatalf("gvk = %v, want %v", gvk, want)
	}
	pp, ok := obj.(*PodPreset)
	if !ok {
		t.Fatalf("decoded %T, want *PodPreset", obj)
	}
	want := PodPresetSpec{
		Selector:     metav1.LabelSelector{MatchLabels: map[string]string{"role": "frontend"}},
		Env:          []v1.EnvVar{{Name: "DB_PORT", Value: "6379"}},
		EnvFrom:      []v1.EnvFromSource{{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "etcd-env-config"}}}},
		VolumeMounts: []v1.VolumeMount{{Name: "cache-volume", MountPath: "/cache"}},
		Volumes:      []v1.Volume{{Name: "cache-volume", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}},
	}
	if !reflect.DeepEqual(pp.Spec, want) {
		t.Fatalf("spec = %+v\nwant %+v", pp.Spec, want)
	}
	if pp.Name != "allow-database" || pp.Namespace != "default" {
		t.Fatalf("metadata = %+v", pp.ObjectMeta)
	}
}

// TestJSONTags pins the wire names: they must be upstream's exactly.
func TestJSONTags(t *testing.T) {
	pp := PodPreset{Spec: PodPresetSpec{
		Env:          []v1.EnvVar{{Name: "A"}},
		EnvFrom:      []v1.EnvFromSource{{Prefix: "P"}},
		Volumes:      []v1.Volume{{Name: "v"}},
		VolumeMounts: []v1.VolumeMount{{Name: "v", MountPath: "/v"}},
	}}
	b, err := json.Marshal(&pp)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"selector", "env", "envFrom", "volumes", "volumeMounts"} {
		if _, ok := m["spec"][k]; !ok {
			t.Errorf("spec.%s missing from %s", k, b)
		}
	}
	list, err := json.Marshal(&PodPresetList{})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"metadata":{},"items":null}`; string(list) != want {
		t.Errorf("empty list = %s, want %s", list, want)
	}
}

func TestSchemeRegistration(t *testing.T) {
	s := newScheme(t)
	for _, tc := range []struct {
		obj  runtime.Object
		kind string
	}{
		{&PodPreset{}, "PodPreset"},
		{&PodPresetList{}, "PodPresetList"},
		{&metav1.ListOptions{}, "ListOptions"},
		{&metav1.DeleteOptions{}, "DeleteOptions"},
		{&metav1.GetOptions{}, "GetOptions"},
		{&metav1.WatchEvent{}, "WatchEvent"},
	} {
		gvks, _, err := s.ObjectKinds(tc.obj)
		if err != nil {
			t.Errorf("%T: %v", tc.obj, err)
			continue
		}
		found := false
		for _, gvk := range gvks {
			if gvk == SchemeGroupVersion.WithKind(tc.kind) {
				found = true
			}
		}
		if !found {
			t.Errorf("%T registered as %v, want %v", tc.obj, gvks, SchemeGroupVersion.WithKind(tc.kind))
		}
	}
}

// TestDeepCopy fills objects randomly and checks the copy is equal and
// shares no memory with the original.
func TestDeepCopy(t *testing.T) {
	f := randfill.NewWithSeed(1).NilChance(0.2).NumElements(1, 3)
	for i := 0; i < 50; i++ {
		var in PodPresetList
		f.Fill(&in)
		out := in.DeepCopyObject().(*PodPresetList)
		if !reflect.DeepEqual(&in, out) {
			t.Fatalf("copy differs:\n%+v\n%+v", in, out)
		}
		if len(in.Items) > 0 && len(in.Items[0].Spec.Env) > 0 {
			out.Items[0].Spec.Env[0].Name += "-changed"
			if reflect.DeepEqual(&in, out) {
				t.Fatal("copy shares env with original")
			}
		}
	}
	var nilPP *PodPreset
	if nilPP.DeepCopy() != nil {
		t.Fatal("nil DeepCopy must be nil")
	}
}
