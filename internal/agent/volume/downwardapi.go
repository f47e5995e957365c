package volume

import (
	"context"
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// DownwardAPI writes the pod's own metadata and resources as files, on a
// tmpfs; the files follow label and annotation changes.
type DownwardAPI struct{}

var _ Plugin = (*DownwardAPI)(nil)

func (*DownwardAPI) Dir() string { return "kubernetes.io~downward-api" }

func (*DownwardAPI) Handles(v *v1.Volume) bool { return v.DownwardAPI != nil }

// Updates marks the plugin for re-running SetUp on every sync.
func (*DownwardAPI) Updates() {}

func (*DownwardAPI) SetUp(_ context.Context, req SetUpRequest) (string, error) {
	src := req.Volume.DownwardAPI
	payload, err := downwardPayload(req.Pod, src.Items, modeOr(src.DefaultMode, defaultMode), req.Allocatable)
	if err != nil {
		return "", err
	}
	return writeVolume(req, true, payload)
}

func (*DownwardAPI) TearDown(_ context.Context, dir string) error { return removeDir(dir) }

func downwardPayload(pod *v1.Pod, items []v1.DownwardAPIVolumeFile, mode int32, alloc v1.ResourceList) (map[string]FileProjection, error) {
	out := map[string]FileProjection{}
	for _, it := range items {
		var val string
		switch {
		case it.FieldRef != nil:
			v, err := volumeFieldValue(pod, it.FieldRef.FieldPath)
			if err != nil {
				return nil, err
			}
			val = v
		case it.ResourceFieldRef != nil:
			c := containerNamed(pod, it.ResourceFieldRef.ContainerName)
			if c == nil {
				return nil, fmt.Errorf("resourceFieldRef of %q: no container named %q", it.Path, it.ResourceFieldRef.ContainerName)
			}
			if alloc == nil {
				alloc = NodeAllocatable()
			}
			v, err := ResourceValue(c, it.ResourceFieldRef, alloc)
			if err != nil {
				return nil, err
			}
			val = v
		default:
			return nil, fmt.Errorf("downwardAPI item %q has neither fieldRef nor resourceFieldRef", it.Path)
		}
		out[it.Path] = FileProjection{Data: []byte(val), Mode: modeOr(it.Mode, mode)}
	}
	return out, nil
}

// volumeFieldValue is a fieldRef's value in a downward API volume.
func volumeFieldValue(pod *v1.Pod, path string) (string, error) {
	switch path {
	case "metadata.labels":
		return FormatMap(pod.Labels), nil
	case "metadata.annotations":
		return FormatMap(pod.Annotations), nil
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	}
	if k, ok := Subscript(path, "metadata.labels"); ok {
		return pod.Labels[k], nil
	}
	if k, ok := Subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[k], nil
	}
	return "", fmt.Errorf("unsupported fieldPath %q in a downward API volume", path)
}

// FormatMap is the kubelet's file format for a label or annotation map:
// key="value" lines sorted by key, values %q-quoted, no final newline.
func FormatMap(m map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(&b, "%v=%q\n", k, m[k])
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Subscript parses `prefix['key']`.
func Subscript(path, prefix string) (string, bool) {
	if !strings.HasPrefix(path, prefix+"['") || !strings.HasSuffix(path, "']") {
		return "", false
	}
	return path[len(prefix)+2 : len(path)-2], true
}
