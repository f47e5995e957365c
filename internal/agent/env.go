package agent

import (
	"errors"
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/runtime"
)

// errConfig marks a container configuration the agent cannot satisfy
// (reported as CreateContainerConfigError).
var errConfig = errors.New("container config")

// podNetwork is what env and the downward API need of the pod's addresses.
type podNetwork struct {
	PodIPs []string
	HostIP string
}

// containerEnv resolves c's environment in order: envFrom, then env, with
// valueFrom fieldRef resolved. $(VAR) expansion is the runtime's.
func containerEnv(pod *v1.Pod, c *v1.Container, net podNetwork) ([]runtime.EnvVar, error) {
	var out []runtime.EnvVar
	var errs []error
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil && !optional(ef.ConfigMapRef.Optional):
			errs = append(errs, fmt.Errorf("%w: envFrom configMap %q: configMaps are not available to this pod source", errConfig, ef.ConfigMapRef.Name))
		case ef.SecretRef != nil && !optional(ef.SecretRef.Optional):
			errs = append(errs, fmt.Errorf("%w: envFrom secret %q: secrets are not available to this pod source", errConfig, ef.SecretRef.Name))
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			out = append(out, runtime.EnvVar{Name: e.Name, Value: e.Value})
			continue
		}
		vf := e.ValueFrom
		switch {
		case vf.FieldRef != nil:
			v, err := fieldValue(pod, vf.FieldRef.FieldPath, net)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: env %q: %v", errConfig, e.Name, err))
				continue
			}
			out = append(out, runtime.EnvVar{Name: e.Name, Value: v})
		case vf.SecretKeyRef != nil:
			if !optional(vf.SecretKeyRef.Optional) {
				errs = append(errs, fmt.Errorf("%w: env %q: secret %q: secrets are not available to this pod source", errConfig, e.Name, vf.SecretKeyRef.Name))
			}
		case vf.ConfigMapKeyRef != nil:
			if !optional(vf.ConfigMapKeyRef.Optional) {
				errs = append(errs, fmt.Errorf("%w: env %q: configMap %q: configMaps are not available to this pod source", errConfig, e.Name, vf.ConfigMapKeyRef.Name))
			}
		default:
			errs = append(errs, fmt.Errorf("%w: env %q: this valueFrom is not supported yet", errConfig, e.Name))
		}
	}
	return out, errors.Join(errs...)
}

func optional(b *bool) bool { return b != nil && *b }

// fieldValue is the downward API value of a fieldRef path.
func fieldValue(pod *v1.Pod, path string, net podNetwork) (string, error) {
	if k, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[k], nil
	}
	if k, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[k], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return net.HostIP, nil
	case "status.podIP":
		if len(net.PodIPs) > 0 {
			return net.PodIPs[0], nil
		}
		return "", nil
	case "status.podIPs":
		return strings.Join(net.PodIPs, ","), nil
	}
	return "", fmt.Errorf("unsupported fieldPath %q", path)
}

// subscript parses `prefix['key']`.
func subscript(path, prefix string) (string, bool) {
	if !strings.HasPrefix(path, prefix+"['") || !strings.HasSuffix(path, "']") {
		return "", false
	}
	return path[len(prefix)+2 : len(path)-2], true
}
