package volume

import (
	"errors"
	"fmt"
	"sort"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

const defaultMode int32 = 0o644

func modeOr(m *int32, def int32) int32 {
	if m != nil {
		return *m
	}
	return def
}

// keyPayload turns an object's keys into files: every key without items,
// else only the listed ones at their paths. what names the object in the
// kubelet's message for a missing key.
func keyPayload(data map[string][]byte, items []v1.KeyToPath, mode int32, optional bool, missingKey string) (map[string]FileProjection, error) {
	out := map[string]FileProjection{}
	if len(items) == 0 {
		for k, v := range data {
			out[k] = FileProjection{Data: v, Mode: mode}
		}
		return out, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, fmt.Errorf("%s: %s", missingKey, it.Key)
		}
		out[it.Path] = FileProjection{Data: v, Mode: modeOr(it.Mode, mode)}
	}
	return out, nil
}

func secretPayload(objs ObjectSource, ns, name string, items []v1.KeyToPath, mode int32, optional bool) (map[string]FileProjection, error) {
	s, err := objs.GetSecret(ns, name)
	if err != nil {
		if optional && (apierrors.IsNotFound(err) || errors.Is(err, ErrNoAPIServer)) {
			return map[string]FileProjection{}, nil
		}
		return nil, err
	}
	return keyPayload(s.Data, items, mode, optional, "references non-existent secret key")
}

func configMapPayload(objs ObjectSource, ns, name string, items []v1.KeyToPath, mode int32, optional bool) (map[string]FileProjection, error) {
	cm, err := objs.GetConfigMap(ns, name)
	if err != nil {
		if optional && (apierrors.IsNotFound(err) || errors.Is(err, ErrNoAPIServer)) {
			return map[string]FileProjection{}, nil
		}
		return nil, err
	}
	data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return keyPayload(data, items, mode, optional, "configmap references non-existent config key")
}

// mergePayload adds src to dst; a path written twice is the later one's, as
// in the kubelet's projected volume.
func mergePayload(dst, src map[string]FileProjection) {
	for k, v := range src {
		dst[k] = v
	}
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
