package podpreset

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	settingsv1alpha1 "github.com/peapod/peapod/internal/apis/settings/v1alpha1"
)

// valid is the documentation's allow-database preset.
func valid() *settingsv1alpha1.PodPreset {
	return &settingsv1alpha1.PodPreset{
		ObjectMeta: metav1.ObjectMeta{Name: "allow-database", Namespace: "default"},
		Spec: settingsv1alpha1.PodPresetSpec{
			Selector:     metav1.LabelSelector{MatchLabels: map[string]string{"role": "frontend"}},
			Env:          []v1.EnvVar{{Name: "DB_PORT", Value: "6379"}},
			VolumeMounts: []v1.VolumeMount{{MountPath: "/cache", Name: "cache-volume"}},
			Volumes:      []v1.Volume{{Name: "cache-volume", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}},
		},
	}
}

func with(f func(*settingsv1alpha1.PodPreset)) *settingsv1alpha1.PodPreset {
	pp := valid()
	f(pp)
	return pp
}

// cause is one expected field error: type and field path, plus a substring
// of the detail when it matters.
type cause struct {
	typ    field.ErrorType
	field  string
	detail string
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		pp   *settingsv1alpha1.PodPreset
		want []cause
	}{
		{name: "documentation example", pp: valid()},
		{name: "env only", pp: with(func(pp *settingsv1alpha1.PodPreset) {
			pp.Spec.Volumes, pp.Spec.VolumeMounts = nil, nil
		})},
		{name: "envFrom only, empty selector", pp: &settingsv1alpha1.PodPreset{
			ObjectMeta: metav1.ObjectMeta{Name: "all", Namespace: "default"},
			Spec: settingsv1alpha1.PodPresetSpec{EnvFrom: []v1.EnvFromSource{
				{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "abc"}}},
				{Prefix: "pre_", SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "abc"}}},
			}},
		}},
		{name: "upstream's valid example with matchExpressions", pp: &settingsv1alpha1.PodPreset{
			ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "sample"},
			Spec: settingsv1alpha1.PodPresetSpec{
				Selector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "security", Operator: metav1.LabelSelectorOpIn, Values: []string{"S2"}}}},
				Volumes:      []v1.Volume{{Name: "vol", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}},
				Env:          []v1.EnvVar{{Name: "abc", Value: "value"}, {Name: "ABC", Value: "value"}},
				VolumeMounts: []v1.VolumeMount{{Name: "vol", MountPath: "/foo"}},
			},
		}},
		{
			name: "empty preset",
			pp: &settingsv1alpha1.PodPreset{
				ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "sample"},
				Spec: settingsv1alpha1.PodPresetSpec{Selector: metav1.LabelSelector{
					MatchLabels: map[string]string{"role": "frontend"}}},
			},
			want: []cause{{field.ErrorTypeRequired, "spec.volumes.env.envFrom.volumeMounts", "must specify at least one"}},
		},
		{
			name: "empty lists count as empty",
			pp: with(func(pp *settingsv1alpha1.PodPreset) {
				pp.Spec.Env, pp.Spec.Volumes, pp.Spec.VolumeMounts = []v1.EnvVar{}, []v1.Volume{}, []v1.VolumeMount{}
			}),
			want: []cause{{field.ErrorTypeRequired, "spec.volumes.env.envFrom.volumeMounts", "must specify at least one"}},
		},
		{
			name: "missing metadata and empty spec report everything at once",
			pp:   &settingsv1alpha1.PodPreset{},
			want: []cause{
				{field.ErrorTypeRequired, "metadata.name", ""},
				{field.ErrorTypeRequired, "metadata.namespace", ""},
				{field.ErrorTypeRequired, "spec.volumes.env.envFrom.volumeMounts", "must specify at least one"},
			},
		},
		{
			name: "invalid selector operator",
			pp: with(func(pp *settingsv1alpha1.PodPreset) {
				pp.Spec.Selector = metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "role", Operator: "Bogus", Values: []string{"x"}}}}
			}),
			want: []cause{{field.ErrorTypeInvalid, "spec.selector.matchExpressions[0].operator", "not a valid selector operator"}},
		},
		{
			name: "invalid selector: In without values, bad label key and value",
			pp: with(func(pp *settingsv1alpha1.PodPreset) {
				pp.Spec.Selector = metav1.LabelSelector{
					MatchLabels:      map[string]string{"bad key!": "bad value!"},
					MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "role", Operator: metav1.LabelSelectorOpIn}},
				}
			}),
			want: []cause{
				{field.ErrorTypeInvalid, "spec.selector.matchLabels", "bad key!"},
				{field.ErrorTypeInvalid, "spec.selector.matchLabels", "bad value!"},
				{field.ErrorTypeRequired, "spec.selector.matchExpressions[0].values", "must be specified when `operator` is 'In' or 'NotIn'"},
			},
		},
		{
			name: "bad name",
			pp:   with(func(pp *settingsv1alpha1.PodPreset) { pp.Name = "Allow_Database" }),
			want: []cause{{field.ErrorTypeInvalid, "metadata.name", "RFC 1123"}},
		},
		{
			name: "env name, valueFrom with value, two sources, no source",
			pp: with(func(pp *settingsv1alpha1.PodPreset) {
				pp.Spec.Env = []v1.EnvVar{
					{Name: ""},
					{Name: "1=bad"},
					{Name: "A", Value: "x", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
					{Name: "B", ValueFrom: &v1.EnvVarSource{
						FieldRef:        &v1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"},
						ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "cm"}, Key: "k"}}},
					{Name: "C", ValueFrom: &v1.EnvVarSource{}},
					{Name: "D", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.containers"}}},
					{Name: "E", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{}}},
					{Name: "F", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels['app']"}}},
				}
			}),
			want: []cause{
				{field.ErrorTypeRequired, "spec.env[0].name", ""},
				{field.ErrorTypeInvalid, "spec.env[1].name", "valid environment variable name"},
				{field.ErrorTypeInvalid, "spec.env[2].valueFrom", "may not be specified when `value` is not empty"},
				{field.ErrorTypeInvalid, "spec.env[3].valueFrom", "may not have more than one field specified at a time"},
				{field.ErrorTypeInvalid, "spec.env[4].valueFrom", "must specify one of"},
				{field.ErrorTypeInvalid, "spec.env[5].valueFrom.fieldRef.fieldPath", "error converting fieldPath: field label not supported: spec.containers"},
				{field.ErrorTypeInvalid, "spec.env[6].valueFrom.secretKeyRef.name", "RFC 1123"},
				{field.ErrorTypeRequired, "spec.env[6].valueFrom.secretKeyRef.key", ""},
			},
		},
		{
			name: "envFrom without or with both sources, bad prefix",
			pp: with(func(pp *settingsv1alpha1.PodPreset) {
				pp.Spec.EnvFrom = []v1.EnvFromSource{
					{},
					{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "a"}},
						SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "b"}}},
					{Prefix: "9=", ConfigMapRef: &v1.ConfigMapEnvSource{}},
				}
			}),
			want: []cause{
				{field.ErrorTypeInvalid, "spec.envFrom", "must specify one of: `configMapRef` or `secretRef`"},
				{field.ErrorTypeInvalid, "spec.envFrom", "may not have more than one field"},
				{field.ErrorTypeInvalid, "spec.envFrom[2].prefix", ""},
				{field.ErrorTypeRequired, "spec.envFrom[2].configMapRef.name", ""},
			},
		},
		{
			name: "volumes: name, duplicate, no source, two sources, source fields",
			pp: with(func(pp *settingsv1alpha1.PodPreset) {
				pp.Spec.VolumeMounts = nil
				pp.Spec.Volumes = []v1.Volume{
					{Name: "cache-volume", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
					{Name: "cache-volume", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
					{Name: "Bad_Name", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
					{Name: "nosource"},
					{Name: "two", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}, HostPath: &v1.HostPathVolumeSource{Path: "/x"}}},
					{Name: "sec", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{DefaultMode: ptr.To[int32](0o1000)}}},
					{Name: "host", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/a/../b", Type: ptr.To(v1.HostPathType("Weird"))}}},
					{Name: "cm", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{
						LocalObjectReference: v1.LocalObjectReference{Name: "cm"},
						Items:                []v1.KeyToPath{{Key: "k", Path: "/abs"}, {Key: "", Path: "..x"}}}}},
					{Name: "proj", VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{Sources: []v1.VolumeProjection{
						{ServiceAccountToken: &v1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](60)}},
						{ConfigMap: &v1.ConfigMapProjection{LocalObjectReference: v1.LocalObjectReference{Name: "c"}, Items: []v1.KeyToPath{{Key: "k", Path: "token"}, {Key: "k2", Path: "token"}}}},
					}}}},
					{Name: "size", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{SizeLimit: ptr.To(resource.MustParse("-1"))}}},
				}
			}),
			want: []cause{
				{field.ErrorTypeDuplicate, "spec.volumes[1].name", ""},
				{field.ErrorTypeInvalid, "spec.volumes[2].name", "RFC 1123"},
				{field.ErrorTypeRequired, "spec.volumes[3]", "must specify a volume type"},
				{field.ErrorTypeForbidden, "spec.volumes[4].hostPath", "may not specify more than 1 volume type"},
				{field.ErrorTypeRequired, "spec.volumes[5].secret.secretName", ""},
				{field.ErrorTypeInvalid, "spec.volumes[5].secret.defaultMode", "0777"},
				{field.ErrorTypeInvalid, "spec.volumes[6].hostPath.path", "must not contain '..'"},
				{field.ErrorTypeNotSupported, "spec.volumes[6].hostPath.type", ""},
				{field.ErrorTypeInvalid, "spec.volumes[7].configMap.items[0].path", "must be a relative path"},
				{field.ErrorTypeRequired, "spec.volumes[7].configMap.items[1].key", ""},
				{field.ErrorTypeInvalid, "spec.volumes[7].configMap.items[1].path", "must not start with '..'"},
				{field.ErrorTypeInvalid, "spec.volumes[8].projected.sources[0].serviceAccountToken.expirationSeconds", "10 minutes"},
				{field.ErrorTypeInvalid, "spec.volumes[8].projected", "conflicting duplicate paths"},
				{field.ErrorTypeForbidden, "spec.volumes[9].emptyDir.sizeLimit", ""},
			},
		},
		{
			name: "volumeMounts: unknown volume (upstream's example), missing fields, duplicate path, subPath",
			pp: with(func(pp *settingsv1alpha1.PodPreset) {
				pp.Spec.VolumeMounts = []v1.VolumeMount{
					{Name: "dne", MountPath: "/foo"},
					{Name: "", MountPath: ""},
					{Name: "cache-volume", MountPath: "/foo"},
					{Name: "cache-volume", MountPath: "/bar", SubPath: "../up"},
					{Name: "cache-volume", MountPath: "/baz", SubPath: "a", SubPathExpr: "$(X)"},
					{Name: "cache-volume", MountPath: "/prop", MountPropagation: ptr.To(v1.MountPropagationMode("Sideways"))},
				}
			}),
			want: []cause{
				{field.ErrorTypeNotFound, "spec.volumeMounts[0].name", ""},
				{field.ErrorTypeRequired, "spec.volumeMounts[1].name", ""},
				{field.ErrorTypeNotFound, "spec.volumeMounts[1].name", ""},
				{field.ErrorTypeRequired, "spec.volumeMounts[1].mountPath", ""},
				{field.ErrorTypeInvalid, "spec.volumeMounts[2].mountPath", "must be unique"},
				{field.ErrorTypeInvalid, "spec.volumeMounts.subPath", "'..'"},
				{field.ErrorTypeInvalid, "spec.volumeMounts[4].subPathExpr", "mutually exclusive"},
				{field.ErrorTypeNotSupported, "spec.volumeMounts.mountPropagation", ""},
			},
		},
		{
			name: "a mount of an invalid volume is also not found",
			pp: with(func(pp *settingsv1alpha1.PodPreset) {
				pp.Spec.Volumes[0].VolumeSource = v1.VolumeSource{}
			}),
			want: []cause{
				{field.ErrorTypeRequired, "spec.volumes[0]", "must specify a volume type"},
				{field.ErrorTypeNotFound, "spec.volumeMounts[0].name", ""},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Validate(tc.pp)
			checkCauses(t, got, tc.want)
		})
	}
}

func checkCauses(t *testing.T, got field.ErrorList, want []cause) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(got), len(want), got.ToAggregate())
	}
	for i, w := range want {
		g := got[i]
		if g.Type != w.typ || g.Field != w.field || !strings.Contains(g.Error(), w.detail) {
			t.Errorf("error %d = %q (%s %s), want %s %s containing %q", i, g.Error(), g.Type, g.Field, w.typ, w.field, w.detail)
		}
	}
}

func TestValidateUpdate(t *testing.T) {
	old := valid()
	old.ResourceVersion, old.UID = "5", "uid-1"

	changedSpec := old.DeepCopy()
	changedSpec.Spec.Env[0].Value = "6380"
	checkCauses(t, ValidateUpdate(changedSpec, old), nil)

	renamed := old.DeepCopy()
	renamed.Name = "other"
	renamed.Spec = settingsv1alpha1.PodPresetSpec{}
	checkCauses(t, ValidateUpdate(renamed, old), []cause{
		{field.ErrorTypeInvalid, "metadata.name", "immutable"},
		{field.ErrorTypeRequired, "spec.volumes.env.envFrom.volumeMounts", "must specify at least one"},
	})
}

func TestStrategy(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	res := NewResourceWithClock(func() time.Time { return now })
	if res.GVR.String() != "settings.k8s.io/v1alpha1, Resource=podpresets" || res.Kind != "PodPreset" ||
		res.ListKind != "PodPresetList" || !res.Namespaced || res.SingularName != "podpreset" {
		t.Fatalf("resource = %+v", res)
	}
	if _, ok := res.New().(*settingsv1alpha1.PodPreset); !ok {
		t.Fatalf("New() = %T", res.New())
	}
	if _, ok := res.NewList().(*settingsv1alpha1.PodPresetList); !ok {
		t.Fatalf("NewList() = %T", res.NewList())
	}
	s := res.Strategy
	ctx := context.Background()

	pp := valid()
	pp.Labels = map[string]string{"team": "db"}
	pp.Spec.Volumes = append(pp.Spec.Volumes, v1.Volume{Name: "sec", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "s"}}})
	s.PrepareForCreate(ctx, pp)
	if m := pp.Spec.Volumes[1].Secret.DefaultMode; m == nil || *m != 0o644 {
		t.Errorf("PrepareForCreate did not default the secret's defaultMode: %v", m)
	}
	if errs := s.Validate(ctx, pp); len(errs) != 0 {
		t.Errorf("Validate: %v", errs)
	}

	ls, fs, err := s.GetAttrs(pp)
	if err != nil {
		t.Fatal(err)
	}
	if !labels.SelectorFromSet(labels.Set{"team": "db"}).Matches(ls) {
		t.Errorf("labels = %v", ls)
	}
	if diff := cmp.Diff(fields.Set{"metadata.name": "allow-database", "metadata.namespace": "default"}, fs); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

func TestTable(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := NewResourceWithClock(func() time.Time { return now }).Strategy
	a := valid()
	a.CreationTimestamp = metav1.NewTime(now.Add(-90 * time.Second))
	a.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"db"}}}
	b := valid()
	b.Name = "everything"
	b.Spec.Selector = metav1.LabelSelector{}
	b.CreationTimestamp = metav1.NewTime(now.Add(-3 * time.Hour))
	list := &settingsv1alpha1.PodPresetList{ListMeta: metav1.ListMeta{ResourceVersion: "42"}, Items: []settingsv1alpha1.PodPreset{*a, *b}}

	table, err := s.ConvertToTable(context.Background(), list, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range table.ColumnDefinitions {
		cols = append(cols, c.Name)
		if c.Name == "Selector" && c.Priority != 1 {
			t.Errorf("Selector priority = %d, want 1 (-o wide)", c.Priority)
		}
	}
	if diff := cmp.Diff([]string{"Name", "Selector", "Age"}, cols); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	var cells [][]interface{}
	for _, r := range table.Rows {
		cells = append(cells, r.Cells)
	}
	want := [][]interface{}{
		{"allow-database", "role=frontend,tier notin (db)", "90s"},
		{"everything", "<none>", "3h"},
	}
	if diff := cmp.Diff(want, cells); diff != "" {
		t.Errorf("cells (-want +got):\n%s", diff)
	}
	if table.ResourceVersion != "42" {
		t.Errorf("table resourceVersion = %q", table.ResourceVersion)
	}
}
