package admission

// The pure part of the PodPreset plugin (podpreset.go): which presets match
// a pod, whether they conflict with it or with each other, and the merged
// pod. Nothing here reads the clock, the store or the network.
//
// The rules are upstream's final implementation (Kubernetes 1.11-1.19,
// plugin/pkg/admission/podpreset), SEMANTICS.md section 13:
//   - volumes conflict by name: an identical duplicate is merged (kept
//     once), a different one conflicts;
//   - per container, init containers included: env conflicts by name and
//     volumeMounts by name and by mountPath, identical duplicates merge;
//     envFrom never conflicts and is only appended;
//   - every conflict is found first, and any conflict means nothing is
//     applied.
// Presets are applied in name order so the result does not depend on the
// order the store returned them in.

import (
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	settingsv1alpha1 "github.com/peapod/peapod/internal/apis/settings/v1alpha1"
)

const (
	// PodPresetAnnotationPrefix prefixes the per-preset annotation added to
	// a pod: podpreset.admission.kubernetes.io/podpreset-<name>: "<resourceVersion>".
	PodPresetAnnotationPrefix = "podpreset.admission.kubernetes.io/podpreset-"
	// PodPresetExcludeAnnotation opts a pod out of every preset when its
	// value is exactly "true".
	PodPresetExcludeAnnotation = "podpreset.admission.kubernetes.io/exclude"
)

// presetConflict is one entry of a preset that cannot be merged: it differs
// from an entry of the same name (or mount path) that the pod already has
// or that an earlier preset added.
type presetConflict struct {
	Preset    string      // the preset whose entry conflicts
	With      string      // the preset that added the other entry; "" when the pod had it
	Field     *field.Path // the list: spec.volumes, spec.containers[0].env, ...
	Container string      // the container's name; "" for pod volumes
	What      string      // "volumes", "env", "volume mounts"
	ByPath    bool        // a volume mount conflicting by mountPath rather than name
	Key       string      // the volume, env or mount name, or the mount path
}

// String reads like upstream's log line, plus where and with what.
func (c presetConflict) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "merging %s for %s has a conflict on ", c.What, c.Preset)
	if c.ByPath {
		b.WriteString("mount path ")
	}
	b.WriteString(c.Key)
	if c.Container != "" {
		fmt.Fprintf(&b, " in container %q", c.Container)
	}
	fmt.Fprintf(&b, " (%s): it differs from ", c.Field)
	if c.With == "" {
		b.WriteString("the pod's own entry")
	} else {
		fmt.Fprintf(&b, "the one from podpreset %s", c.With)
	}
	return b.String()
}

// presetsMatching returns the presets whose selector matches the pod's
// labels, sorted by name. An empty selector matches every pod. A preset
// with a selector that does not parse (validation keeps these out of the
// store) is an error, as upstream.
func presetsMatching(presets []*settingsv1alpha1.PodPreset, podLabels map[string]string) ([]*settingsv1alpha1.PodPreset, error) {
	var out []*settingsv1alpha1.PodPreset
	for _, pp := range presets {
		sel, err := metav1.LabelSelectorAsSelector(&pp.Spec.Selector)
		if err != nil {
			return nil, fmt.Errorf("podpreset %s/%s: selector: %w", pp.Namespace, pp.Name, err)
		}
		if sel.Matches(labels.Set(podLabels)) {
			out = append(out, pp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// mergePodPresets returns a copy of pod with every preset applied, or, if
// any entry conflicts, nil and all the conflicts. pod itself is never
// changed. presets are applied in the order given.
func mergePodPresets(pod *v1.Pod, presets []*settingsv1alpha1.PodPreset) (*v1.Pod, []presetConflict) {
	out := pod.DeepCopy()
	if len(presets) == 0 {
		return out, nil
	}
	var conflicts []presetConflict

	vols, c := mergePresetVolumes(out.Spec.Volumes, presets, field.NewPath("spec", "volumes"))
	conflicts = append(conflicts, c...)
	out.Spec.Volumes = vols

	for i := range out.Spec.Containers {
		conflicts = append(conflicts, mergePresetsIntoContainer(&out.Spec.Containers[i], presets, field.NewPath("spec", "containers").Index(i))...)
	}
	for i := range out.Spec.InitContainers {
		conflicts = append(conflicts, mergePresetsIntoContainer(&out.Spec.InitContainers[i], presets, field.NewPath("spec", "initContainers").Index(i))...)
	}
	if len(conflicts) > 0 {
		return nil, conflicts
	}

	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	for _, pp := range presets {
		out.Annotations[PodPresetAnnotationPrefix+pp.Name] = pp.ResourceVersion
	}
	return out, nil
}

func mergePresetsIntoContainer(ctr *v1.Container, presets []*settingsv1alpha1.PodPreset, path *field.Path) []presetConflict {
	env, conflicts := mergePresetEnv(ctr.Name, ctr.Env, presets, path.Child("env"))
	mounts, c := mergePresetVolumeMounts(ctr.Name, ctr.VolumeMounts, presets, path.Child("volumeMounts"))
	conflicts = append(conflicts, c...)
	ctr.Env = env
	ctr.VolumeMounts = mounts
	for _, pp := range presets {
		for i := range pp.Spec.EnvFrom {
			ctr.EnvFrom = append(ctr.EnvFrom, *pp.Spec.EnvFrom[i].DeepCopy())
		}
	}
	return conflicts
}

// The *Origin types remember where an entry already on the pod came from:
// from is "" for the pod itself, otherwise the preset that added it.
type envOrigin struct {
	v    v1.EnvVar
	from string
}

func mergePresetEnv(container string, env []v1.EnvVar, presets []*settingsv1alpha1.PodPreset, path *field.Path) ([]v1.EnvVar, []presetConflict) {
	seen := make(map[string]envOrigin, len(env))
	for _, e := range env {
		seen[e.Name] = envOrigin{v: e}
	}
	var conflicts []presetConflict
	for _, pp := range presets {
		for _, e := range pp.Spec.Env {
			have, ok := seen[e.Name]
			if !ok {
				seen[e.Name] = envOrigin{v: e, from: pp.Name}
				env = append(env, *e.DeepCopy())
				continue
			}
			if !equality.Semantic.DeepEqual(have.v, e) {
				conflicts = append(conflicts, presetConflict{Preset: pp.Name, With: have.from, Field: path,
					Container: container, What: "env", Key: e.Name})
			}
		}
	}
	return env, conflicts
}

type mountOrigin struct {
	m    v1.VolumeMount
	from string
}

func mergePresetVolumeMounts(container string, mounts []v1.VolumeMount, presets []*settingsv1alpha1.PodPreset, path *field.Path) ([]v1.VolumeMount, []presetConflict) {
	byName := make(map[string]mountOrigin, len(mounts))
	byPath := make(map[string]mountOrigin, len(mounts))
	for _, m := range mounts {
		byName[m.Name] = mountOrigin{m: m}
		byPath[m.MountPath] = mountOrigin{m: m}
	}
	var conflicts []presetConflict
	for _, pp := range presets {
		for _, m := range pp.Spec.VolumeMounts {
			if have, ok := byName[m.Name]; !ok {
				byName[m.Name] = mountOrigin{m: m, from: pp.Name}
				mounts = append(mounts, *m.DeepCopy())
			} else if !equality.Semantic.DeepEqual(have.m, m) {
				conflicts = append(conflicts, presetConflict{Preset: pp.Name, With: have.from, Field: path,
					Container: container, What: "volume mounts", Key: m.Name})
			}
			if have, ok := byPath[m.MountPath]; !ok {
				byPath[m.MountPath] = mountOrigin{m: m, from: pp.Name}
			} else if !equality.Semantic.DeepEqual(have.m, m) {
				conflicts = append(conflicts, presetConflict{Preset: pp.Name, With: have.from, Field: path,
					Container: container, What: "volume mounts", ByPath: true, Key: m.MountPath})
			}
		}
	}
	return mounts, conflicts
}

type volumeOrigin struct {
	v    v1.Volume
	from string
}

func mergePresetVolumes(vols []v1.Volume, presets []*settingsv1alpha1.PodPreset, path *field.Path) ([]v1.Volume, []presetConflict) {
	seen := make(map[string]volumeOrigin, len(vols))
	for _, v := range vols {
		seen[v.Name] = volumeOrigin{v: v}
	}
	var conflicts []presetConflict
	for _, pp := range presets {
		for i := range pp.Spec.Volumes {
			v := pp.Spec.Volumes[i]
			have, ok := seen[v.Name]
			if !ok {
				seen[v.Name] = volumeOrigin{v: v, from: pp.Name}
				vols = append(vols, *v.DeepCopy())
				continue
			}
			if !equality.Semantic.DeepEqual(have.v, v) {
				conflicts = append(conflicts, presetConflict{Preset: pp.Name, With: have.from, Field: path,
					What: "volumes", Key: v.Name})
			}
		}
	}
	return vols, conflicts
}
