package admission

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	settingsv1alpha1 "github.com/peapod/peapod/internal/apis/settings/v1alpha1"
)

// Builders for the tables. They return fresh values every call so no test
// can change another's input.

func ppFixture(name, rv string, spec settingsv1alpha1.PodPresetSpec) *settingsv1alpha1.PodPreset {
	return &settingsv1alpha1.PodPreset{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", ResourceVersion: rv},
		Spec:       spec,
	}
}

// allowDatabase is the preset of the Kubernetes documentation
// (tasks/inject-data-application/podpreset).
func allowDatabase() *settingsv1alpha1.PodPreset {
	return ppFixture("allow-database", "1000", settingsv1alpha1.PodPresetSpec{
		Selector:     metav1.LabelSelector{MatchLabels: map[string]string{"role": "frontend"}},
		Env:          []v1.EnvVar{{Name: "DB_PORT", Value: "6379"}},
		VolumeMounts: []v1.VolumeMount{{MountPath: "/cache", Name: "cache-volume"}},
		Volumes:      []v1.Volume{emptyDirVolume("cache-volume")},
	})
}

// proxy is the documentation's second preset (multiple presets example).
func proxy() *settingsv1alpha1.PodPreset {
	return ppFixture("proxy", "1001", settingsv1alpha1.PodPresetSpec{
		Selector:     metav1.LabelSelector{MatchLabels: map[string]string{"role": "frontend"}},
		VolumeMounts: []v1.VolumeMount{{MountPath: "/etc/proxy/configs", Name: "proxy-volume"}},
		Volumes:      []v1.Volume{emptyDirVolume("proxy-volume")},
	})
}

func emptyDirVolume(name string) v1.Volume {
	return v1.Volume{Name: name, VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}
}

func configMapEnvFrom(name string) v1.EnvFromSource {
	return v1.EnvFromSource{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: name}}}
}

// website is the documentation's pod.
func website() *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "website", Namespace: "default",
			Labels: map[string]string{"app": "website", "role": "frontend"}},
		Spec: v1.PodSpec{Containers: []v1.Container{{
			Name: "website", Image: "nginx",
			Ports: []v1.ContainerPort{{ContainerPort: 80}},
		}}},
	}
}

func withPod(p *v1.Pod, f func(*v1.Pod)) *v1.Pod { f(p); return p }

func withPreset(pp *settingsv1alpha1.PodPreset, f func(*settingsv1alpha1.PodPreset)) *settingsv1alpha1.PodPreset {
	f(pp)
	return pp
}

func TestMergePodPresets(t *testing.T) {
	tests := []struct {
		name    string
		pod     *v1.Pod
		presets []*settingsv1alpha1.PodPreset
		want    *v1.Pod  // nil when conflicts are expected
		wantErr []string // substrings of the conflicts, in order
	}{
		{
			name:    "documentation example allow-database",
			pod:     website(),
			presets: []*settingsv1alpha1.PodPreset{allowDatabase()},
			want: withPod(website(), func(p *v1.Pod) {
				p.Annotations = map[string]string{"podpreset.admission.kubernetes.io/podpreset-allow-database": "1000"}
				p.Spec.Volumes = []v1.Volume{emptyDirVolume("cache-volume")}
				c := &p.Spec.Containers[0]
				c.Env = []v1.EnvVar{{Name: "DB_PORT", Value: "6379"}}
				c.VolumeMounts = []v1.VolumeMount{{MountPath: "/cache", Name: "cache-volume"}}
			}),
		},
		{
			name:    "no presets leaves the pod as it is",
			pod:     website(),
			presets: nil,
			want:    website(),
		},
		{
			name:    "two presets merge cleanly, in the order given",
			pod:     withPod(website(), func(p *v1.Pod) { p.Annotations = map[string]string{"keep": "me"} }),
			presets: []*settingsv1alpha1.PodPreset{allowDatabase(), proxy()},
			want: withPod(website(), func(p *v1.Pod) {
				p.Annotations = map[string]string{
					"keep": "me",
					"podpreset.admission.kubernetes.io/podpreset-allow-database": "1000",
					"podpreset.admission.kubernetes.io/podpreset-proxy":          "1001",
				}
				p.Spec.Volumes = []v1.Volume{emptyDirVolume("cache-volume"), emptyDirVolume("proxy-volume")}
				c := &p.Spec.Containers[0]
				c.Env = []v1.EnvVar{{Name: "DB_PORT", Value: "6379"}}
				c.VolumeMounts = []v1.VolumeMount{{MountPath: "/cache", Name: "cache-volume"}, {MountPath: "/etc/proxy/configs", Name: "proxy-volume"}}
			}),
		},
		{
			name: "identical duplicates across presets and the pod are merged once",
			pod: withPod(website(), func(p *v1.Pod) {
				p.Spec.Volumes = []v1.Volume{emptyDirVolume("cache-volume")}
				p.Spec.Containers[0].Env = []v1.EnvVar{{Name: "DB_PORT", Value: "6379"}}
			}),
			presets: []*settingsv1alpha1.PodPreset{
				allowDatabase(),
				withPreset(allowDatabase(), func(pp *settingsv1alpha1.PodPreset) { pp.Name, pp.ResourceVersion = "allow-database-2", "7" }),
			},
			want: withPod(website(), func(p *v1.Pod) {
				p.Annotations = map[string]string{
					"podpreset.admission.kubernetes.io/podpreset-allow-database":   "1000",
					"podpreset.admission.kubernetes.io/podpreset-allow-database-2": "7",
				}
				p.Spec.Volumes = []v1.Volume{emptyDirVolume("cache-volume")}
				c := &p.Spec.Containers[0]
				c.Env = []v1.EnvVar{{Name: "DB_PORT", Value: "6379"}}
				c.VolumeMounts = []v1.VolumeMount{{MountPath: "/cache", Name: "cache-volume"}}
			}),
		},
		{
			name: "semantically equal quantities are not a conflict",
			pod: withPod(website(), func(p *v1.Pod) {
				q := resource.MustParse("1Gi")
				p.Spec.Volumes = []v1.Volume{{Name: "cache-volume", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{SizeLimit: &q}}}}
			}),
			presets: []*settingsv1alpha1.PodPreset{ppFixture("sized", "5", settingsv1alpha1.PodPresetSpec{
				Volumes: []v1.Volume{{Name: "cache-volume", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{SizeLimit: resource.NewQuantity(1<<30, resource.BinarySI)}}}},
			})},
			want: withPod(website(), func(p *v1.Pod) {
				q := resource.MustParse("1Gi")
				p.Annotations = map[string]string{"podpreset.admission.kubernetes.io/podpreset-sized": "5"}
				p.Spec.Volumes = []v1.Volume{{Name: "cache-volume", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{SizeLimit: &q}}}}
			}),
		},
		{
			name: "env conflict between two presets",
			pod:  website(),
			presets: []*settingsv1alpha1.PodPreset{
				allowDatabase(),
				withPreset(allowDatabase(), func(pp *settingsv1alpha1.PodPreset) {
					pp.Name = "other-db"
					pp.Spec.Env[0].Value = "6380"
				}),
			},
			wantErr: []string{`merging env for other-db has a conflict on DB_PORT in container "website" (spec.containers[0].env): it differs from the one from podpreset allow-database`},
		},
		{
			name:    "env conflict with the pod's own env",
			pod:     withPod(website(), func(p *v1.Pod) { p.Spec.Containers[0].Env = []v1.EnvVar{{Name: "DB_PORT", Value: "5432"}} }),
			presets: []*settingsv1alpha1.PodPreset{allowDatabase()},
			wantErr: []string{`merging env for allow-database has a conflict on DB_PORT in container "website" (spec.containers[0].env): it differs from the pod's own entry`},
		},
		{
			name: "env valueFrom versus value conflicts",
			pod: withPod(website(), func(p *v1.Pod) {
				p.Spec.Containers[0].Env = []v1.EnvVar{{Name: "DB_PORT", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}
			}),
			presets: []*settingsv1alpha1.PodPreset{allowDatabase()},
			wantErr: []string{"conflict on DB_PORT"},
		},
		{
			name: "volume mount name conflict",
			pod: withPod(website(), func(p *v1.Pod) {
				p.Spec.Volumes = []v1.Volume{emptyDirVolume("cache-volume")}
				p.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "cache-volume", MountPath: "/var/cache"}}
			}),
			presets: []*settingsv1alpha1.PodPreset{allowDatabase()},
			wantErr: []string{`merging volume mounts for allow-database has a conflict on cache-volume in container "website" (spec.containers[0].volumeMounts)`},
		},
		{
			name: "volume mount path conflict",
			pod: withPod(website(), func(p *v1.Pod) {
				p.Spec.Volumes = []v1.Volume{emptyDirVolume("other")}
				p.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "other", MountPath: "/cache"}}
			}),
			presets: []*settingsv1alpha1.PodPreset{allowDatabase()},
			wantErr: []string{`merging volume mounts for allow-database has a conflict on mount path /cache in container "website"`},
		},
		{
			name: "volume mount readOnly difference conflicts by name and by path",
			pod: withPod(website(), func(p *v1.Pod) {
				p.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "cache-volume", MountPath: "/cache", ReadOnly: true}}
			}),
			presets: []*settingsv1alpha1.PodPreset{allowDatabase()},
			wantErr: []string{"conflict on cache-volume", "conflict on mount path /cache"},
		},
		{
			name: "volume conflict",
			pod: withPod(website(), func(p *v1.Pod) {
				p.Spec.Volumes = []v1.Volume{{Name: "cache-volume", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/tmp"}}}}
			}),
			presets: []*settingsv1alpha1.PodPreset{allowDatabase()},
			wantErr: []string{`merging volumes for allow-database has a conflict on cache-volume (spec.volumes): it differs from the pod's own entry`},
		},
		{
			name: "every conflict is reported, volumes first, then containers, then init containers",
			pod: withPod(website(), func(p *v1.Pod) {
				p.Spec.Volumes = []v1.Volume{{Name: "cache-volume", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/tmp"}}}}
				p.Spec.InitContainers = []v1.Container{{Name: "init", Image: "busybox", Env: []v1.EnvVar{{Name: "DB_PORT", Value: "1"}}}}
				p.Spec.Containers[0].Env = []v1.EnvVar{{Name: "DB_PORT", Value: "2"}}
			}),
			presets: []*settingsv1alpha1.PodPreset{allowDatabase()},
			wantErr: []string{"volumes for allow-database", "spec.containers[0].env", "spec.initContainers[0].env"},
		},
		{
			name: "envFrom is appended, even when the same source is already there",
			pod: withPod(website(), func(p *v1.Pod) {
				p.Spec.Containers[0].EnvFrom = []v1.EnvFromSource{configMapEnvFrom("etcd-env-config")}
			}),
			presets: []*settingsv1alpha1.PodPreset{
				ppFixture("a", "1", settingsv1alpha1.PodPresetSpec{EnvFrom: []v1.EnvFromSource{configMapEnvFrom("etcd-env-config")}}),
				ppFixture("b", "2", settingsv1alpha1.PodPresetSpec{EnvFrom: []v1.EnvFromSource{{Prefix: "B_", SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "s"}}}}}),
			},
			want: withPod(website(), func(p *v1.Pod) {
				p.Annotations = map[string]string{
					"podpreset.admission.kubernetes.io/podpreset-a": "1",
					"podpreset.admission.kubernetes.io/podpreset-b": "2",
				}
				p.Spec.Containers[0].EnvFrom = []v1.EnvFromSource{
					configMapEnvFrom("etcd-env-config"),
					configMapEnvFrom("etcd-env-config"),
					{Prefix: "B_", SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "s"}}},
				}
			}),
		},
		{
			name: "every container and init container gets env, envFrom and mounts; volumes once",
			pod: withPod(website(), func(p *v1.Pod) {
				p.Spec.InitContainers = []v1.Container{{Name: "init", Image: "busybox"}}
				p.Spec.Containers = append(p.Spec.Containers, v1.Container{Name: "sidecar", Image: "busybox",
					Env: []v1.EnvVar{{Name: "MINE", Value: "x"}}})
			}),
			presets: []*settingsv1alpha1.PodPreset{withPreset(allowDatabase(), func(pp *settingsv1alpha1.PodPreset) {
				pp.Spec.EnvFrom = []v1.EnvFromSource{configMapEnvFrom("etcd-env-config")}
			})},
			want: withPod(website(), func(p *v1.Pod) {
				p.Annotations = map[string]string{"podpreset.admission.kubernetes.io/podpreset-allow-database": "1000"}
				p.Spec.Volumes = []v1.Volume{emptyDirVolume("cache-volume")}
				env := []v1.EnvVar{{Name: "DB_PORT", Value: "6379"}}
				envFrom := []v1.EnvFromSource{configMapEnvFrom("etcd-env-config")}
				mounts := []v1.VolumeMount{{MountPath: "/cache", Name: "cache-volume"}}
				p.Spec.InitContainers = []v1.Container{{Name: "init", Image: "busybox", Env: env, EnvFrom: envFrom, VolumeMounts: mounts}}
				c := &p.Spec.Containers[0]
				c.Env, c.EnvFrom, c.VolumeMounts = env, envFrom, mounts
				p.Spec.Containers = append(p.Spec.Containers, v1.Container{Name: "sidecar", Image: "busybox",
					Env: []v1.EnvVar{{Name: "MINE", Value: "x"}, {Name: "DB_PORT", Value: "6379"}}, EnvFrom: envFrom, VolumeMounts: mounts})
			}),
		},
		{
			name: "a conflict in an init container only still rejects everything",
			pod: withPod(website(), func(p *v1.Pod) {
				p.Spec.InitContainers = []v1.Container{{Name: "init", Image: "busybox",
					VolumeMounts: []v1.VolumeMount{{Name: "scratch", MountPath: "/cache"}}}}
			}),
			presets: []*settingsv1alpha1.PodPreset{allowDatabase()},
			wantErr: []string{`conflict on mount path /cache in container "init" (spec.initContainers[0].volumeMounts)`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig := tc.pod.DeepCopy()
			var presetsBefore []*settingsv1alpha1.PodPreset
			for _, pp := range tc.presets {
				presetsBefore = append(presetsBefore, pp.DeepCopy())
			}
			got, conflicts := mergePodPresets(tc.pod, tc.presets)

			if diff := cmp.Diff(orig, tc.pod); diff != "" {
				t.Errorf("input pod changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(presetsBefore, tc.presets); diff != "" {
				t.Errorf("presets changed (-before +after):\n%s", diff)
			}
			if tc.want == nil {
				if got != nil {
					t.Errorf("got a merged pod, want conflicts %q", tc.wantErr)
				}
				if len(conflicts) != len(tc.wantErr) {
					t.Fatalf("conflicts = %v, want %d: %q", conflicts, len(tc.wantErr), tc.wantErr)
				}
				for i, c := range conflicts {
					if !strings.Contains(c.String(), tc.wantErr[i]) {
						t.Errorf("conflict %d = %q, want it to contain %q", i, c.String(), tc.wantErr[i])
					}
				}
				return
			}
			if len(conflicts) > 0 {
				t.Fatalf("unexpected conflicts: %v", conflicts)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("merged pod (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMergeDoesNotAlias checks the merged pod shares nothing with the
// presets: a later change to a stored preset must not reach admitted pods.
func TestMergeDoesNotAlias(t *testing.T) {
	pp := allowDatabase()
	pp.Spec.EnvFrom = []v1.EnvFromSource{configMapEnvFrom("cm")}
	got, conflicts := mergePodPresets(website(), []*settingsv1alpha1.PodPreset{pp})
	if len(conflicts) > 0 {
		t.Fatal(conflicts)
	}
	got.Spec.Volumes[0].EmptyDir.Medium = v1.StorageMediumMemory
	got.Spec.Containers[0].EnvFrom[0].ConfigMapRef.Name = "changed"
	got.Spec.Containers[0].Env[0].Value = "changed"
	if diff := cmp.Diff(allowDatabase().Spec.Volumes, pp.Spec.Volumes); diff != "" {
		t.Errorf("preset volumes changed through the pod:\n%s", diff)
	}
	if pp.Spec.EnvFrom[0].ConfigMapRef.Name != "cm" || pp.Spec.Env[0].Value != "6379" {
		t.Errorf("preset env changed through the pod: %+v", pp.Spec)
	}
}

func TestPresetsMatching(t *testing.T) {
	sel := func(name string, s metav1.LabelSelector) *settingsv1alpha1.PodPreset {
		return ppFixture(name, "1", settingsv1alpha1.PodPresetSpec{Selector: s})
	}
	all := []*settingsv1alpha1.PodPreset{
		sel("z-everything", metav1.LabelSelector{}),
		sel("frontend", metav1.LabelSelector{MatchLabels: map[string]string{"role": "frontend"}}),
		sel("backend", metav1.LabelSelector{MatchLabels: map[string]string{"role": "backend"}}),
		sel("a-not-db", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"db"}}}}),
	}
	tests := []struct {
		labels map[string]string
		want   []string
	}{
		{map[string]string{"role": "frontend"}, []string{"a-not-db", "frontend", "z-everything"}},
		{map[string]string{"role": "backend", "tier": "db"}, []string{"backend", "z-everything"}},
		{nil, []string{"a-not-db", "z-everything"}},
	}
	for _, tc := range tests {
		got, err := presetsMatching(all, tc.labels)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, pp := range got {
			names = append(names, pp.Name)
		}
		if diff := cmp.Diff(tc.want, names); diff != "" {
			t.Errorf("labels %v (-want +got):\n%s", tc.labels, diff)
		}
	}

	bad := sel("bad", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "k", Operator: "Bogus"}}})
	if _, err := presetsMatching([]*settingsv1alpha1.PodPreset{bad}, nil); err == nil || !strings.Contains(err.Error(), "default/bad") {
		t.Errorf("invalid selector: err = %v, want one naming default/bad", err)
	}
}

// BenchmarkMergePodPresets: one pod with 3 containers and an init
// container, 10 matching presets of 5 env vars, 1 volume and 1 mount each.
func BenchmarkMergePodPresets(b *testing.B) {
	pod := website()
	pod.Spec.InitContainers = []v1.Container{{Name: "init", Image: "busybox"}}
	pod.Spec.Containers = append(pod.Spec.Containers, v1.Container{Name: "a", Image: "x"}, v1.Container{Name: "b", Image: "x"})
	var presets []*settingsv1alpha1.PodPreset
	for i := 0; i < 10; i++ {
		spec := settingsv1alpha1.PodPresetSpec{
			Volumes:      []v1.Volume{emptyDirVolume(fmt.Sprintf("vol-%d", i))},
			VolumeMounts: []v1.VolumeMount{{Name: fmt.Sprintf("vol-%d", i), MountPath: fmt.Sprintf("/mnt/%d", i)}},
		}
		for j := 0; j < 5; j++ {
			spec.Env = append(spec.Env, v1.EnvVar{Name: fmt.Sprintf("VAR_%d_%d", i, j), Value: "v"})
		}
		presets = append(presets, ppFixture(fmt.Sprintf("p%02d", i), "1", spec))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, c := mergePodPresets(pod, presets); len(c) > 0 {
			b.Fatal(c)
		}
	}
}
