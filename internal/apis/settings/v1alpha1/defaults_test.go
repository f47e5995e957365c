package v1alpha1

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestSetDefaults(t *testing.T) {
	fieldRef := func(apiVersion string) *v1.ObjectFieldSelector {
		return &v1.ObjectFieldSelector{APIVersion: apiVersion, FieldPath: "metadata.name"}
	}
	in := &PodPreset{Spec: PodPresetSpec{
		Env: []v1.EnvVar{
			{Name: "A", Value: "a"},
			{Name: "POD", ValueFrom: &v1.EnvVarSource{FieldRef: fieldRef("")}},
			{Name: "KEEP", ValueFrom: &v1.EnvVarSource{FieldRef: fieldRef("v2")}},
		},
		Volumes: []v1.Volume{
			{Name: "none"},
			{Name: "host", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/tmp"}}},
			{Name: "sec", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "s"}}},
			{Name: "cm", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{DefaultMode: ptr.To[int32](0o400)}}},
			{Name: "dapi", VolumeSource: v1.VolumeSource{DownwardAPI: &v1.DownwardAPIVolumeSource{
				Items: []v1.DownwardAPIVolumeFile{{Path: "name", FieldRef: fieldRef("")}}}}},
			{Name: "proj", VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{Sources: []v1.VolumeProjection{
				{ServiceAccountToken: &v1.ServiceAccountTokenProjection{Path: "token"}},
				{DownwardAPI: &v1.DownwardAPIProjection{Items: []v1.DownwardAPIVolumeFile{{Path: "n", FieldRef: fieldRef("")}}}},
			}}}},
		},
	}}
	want := &PodPreset{Spec: PodPresetSpec{
		Env: []v1.EnvVar{
			{Name: "A", Value: "a"},
			{Name: "POD", ValueFrom: &v1.EnvVarSource{FieldRef: fieldRef("v1")}},
			{Name: "KEEP", ValueFrom: &v1.EnvVarSource{FieldRef: fieldRef("v2")}},
		},
		Volumes: []v1.Volume{
			{Name: "none", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
			{Name: "host", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/tmp", Type: ptr.To(v1.HostPathUnset)}}},
			{Name: "sec", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "s", DefaultMode: ptr.To[int32](0o644)}}},
			{Name: "cm", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{DefaultMode: ptr.To[int32](0o400)}}},
			{Name: "dapi", VolumeSource: v1.VolumeSource{DownwardAPI: &v1.DownwardAPIVolumeSource{DefaultMode: ptr.To[int32](0o644),
				Items: []v1.DownwardAPIVolumeFile{{Path: "name", FieldRef: fieldRef("v1")}}}}},
			{Name: "proj", VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{DefaultMode: ptr.To[int32](0o644), Sources: []v1.VolumeProjection{
				{ServiceAccountToken: &v1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3600)}},
				{DownwardAPI: &v1.DownwardAPIProjection{Items: []v1.DownwardAPIVolumeFile{{Path: "n", FieldRef: fieldRef("v1")}}}},
			}}}},
		},
	}}
	SetDefaults(in)
	if diff := cmp.Diff(want, in); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	again := in.DeepCopy()
	SetDefaults(again)
	if diff := cmp.Diff(in, again); diff != "" {
		t.Errorf("defaulting twice changed the preset:\n%s", diff)
	}
}
