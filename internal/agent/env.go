package agent

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/peapod/peapod/internal/agent/volume"
	"github.com/peapod/peapod/internal/runtime"
	"github.com/peapod/peapod/internal/runtime/oci"
)

// errConfig marks a container configuration the agent cannot satisfy
// (reported as CreateContainerConfigError).
var errConfig = errors.New("container config")

// configErr is an errConfig that reads as its cause alone (the kubelet's
// message: `secret "x" not found`).
type configErr struct{ error }

func (configErr) Is(target error) bool { return target == errConfig }
func (e configErr) Unwrap() error      { return e.error }

// podNetwork is what env and the downward API need of the pod's addresses.
type podNetwork struct {
	PodIPs []string
	HostIP string
}

// kubernetesServiceEnv is the kubelet's service-link variables
// (envvars.FromServices) for the `kubernetes` service, whose one port is
// named https, at hostPort: where pods reach the API server. peapod has
// no Services, so no cluster IP: the address is the API server's own
// (see Config.APIServer). "" gives none, as a kubelet without an API
// server sets none.
func kubernetesServiceEnv(hostPort string) ([]runtime.EnvVar, error) {
	if hostPort == "" {
		return nil, nil
	}
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return nil, fmt.Errorf("API server address %q: %w", hostPort, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 || host == "" {
		return nil, fmt.Errorf("API server address %q: want host:port", hostPort)
	}
	url := "tcp://" + net.JoinHostPort(host, port) // an IPv6 host bracketed
	prefix := "KUBERNETES_PORT_" + port + "_TCP"
	return []runtime.EnvVar{
		{Name: "KUBERNETES_SERVICE_HOST", Value: host},
		{Name: "KUBERNETES_SERVICE_PORT", Value: port},
		{Name: "KUBERNETES_SERVICE_PORT_HTTPS", Value: port},
		{Name: "KUBERNETES_PORT", Value: url},
		{Name: prefix, Value: url},
		{Name: prefix + "_PROTO", Value: "tcp"},
		{Name: prefix + "_PORT", Value: port},
		{Name: prefix + "_ADDR", Value: host},
	}, nil
}

// containerEnv resolves c's environment as the kubelet's
// makeEnvironmentVariables does: envFrom sources in order (later keys win,
// prefix prepended), then env entries overriding them, with valueFrom
// resolved through objs. Only a literal value is $(VAR)-expanded, against
// the variables as they stand when it comes (envFrom's and the earlier
// entries'), then the service variables svc; values from Secrets,
// ConfigMaps and the downward API are used as they are. The service
// variables whose names the container did not set come last (in svc's
// order). The runtime expands command and args against the result. A
// missing object or key that is not optional fails with the kubelet's
// message (`secret "x" not found`, `couldn't find key k in Secret
// ns/x`): the first such error only, as the kubelet; values never appear
// in errors.
//
// alloc is what a resourceFieldRef reads for an unset or zero limit (nil:
// volume.NodeAllocatable).
func containerEnv(pod *v1.Pod, c *v1.Container, net podNetwork, objs volume.ObjectSource, svc []runtime.EnvVar, alloc v1.ResourceList) ([]runtime.EnvVar, error) {
	if objs == nil {
		objs = volume.NoAPIServer{}
	}
	var out []runtime.EnvVar
	index := map[string]int{}
	set := func(name, value string) {
		if i, ok := index[name]; ok {
			out[i].Value = value
			return
		}
		index[name] = len(out)
		out = append(out, runtime.EnvVar{Name: name, Value: value})
	}
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			cm, err := objs.GetConfigMap(pod.Namespace, ef.ConfigMapRef.Name)
			if err != nil {
				if !absentOK(err, ef.ConfigMapRef.Optional) {
					return nil, configErr{err}
				}
				continue
			}
			for _, k := range sortedKeys(cm.Data) {
				set(ef.Prefix+k, cm.Data[k])
			}
		case ef.SecretRef != nil:
			s, err := objs.GetSecret(pod.Namespace, ef.SecretRef.Name)
			if err != nil {
				if !absentOK(err, ef.SecretRef.Optional) {
					return nil, configErr{err}
				}
				continue
			}
			keys := make(map[string]string, len(s.Data))
			for k := range s.Data {
				keys[k] = ""
			}
			for _, k := range sortedKeys(keys) {
				set(ef.Prefix+k, string(s.Data[k]))
			}
		}
	}
	lookup := func(name string) (string, bool) {
		if i, ok := index[name]; ok {
			return out[i].Value, true
		}
		for _, e := range svc {
			if e.Name == name {
				return e.Value, true
			}
		}
		return "", false
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			set(e.Name, oci.Expand(e.Value, lookup))
			continue
		}
		vf := e.ValueFrom
		switch {
		case vf.FieldRef != nil:
			v, err := fieldValue(pod, vf.FieldRef.FieldPath, net)
			if err != nil {
				return nil, fmt.Errorf("%w: env %q: %v", errConfig, e.Name, err)
			}
			set(e.Name, v)
		case vf.ResourceFieldRef != nil:
			target := c
			if n := vf.ResourceFieldRef.ContainerName; n != "" && n != c.Name {
				if target = specOf(pod, n); target == nil {
					return nil, fmt.Errorf("%w: env %q: no container named %q", errConfig, e.Name, n)
				}
			}
			if alloc == nil {
				alloc = volume.NodeAllocatable()
			}
			v, err := volume.ResourceValue(target, vf.ResourceFieldRef, alloc)
			if err != nil {
				return nil, fmt.Errorf("%w: env %q: %v", errConfig, e.Name, err)
			}
			set(e.Name, v)
		case vf.SecretKeyRef != nil:
			ref := vf.SecretKeyRef
			s, err := objs.GetSecret(pod.Namespace, ref.Name)
			if err != nil {
				if !absentOK(err, ref.Optional) {
					return nil, configErr{err}
				}
				continue
			}
			v, ok := s.Data[ref.Key]
			if !ok {
				if !optional(ref.Optional) {
					return nil, configErr{fmt.Errorf("couldn't find key %s in Secret %s/%s", ref.Key, pod.Namespace, ref.Name)}
				}
				continue
			}
			set(e.Name, string(v))
		case vf.ConfigMapKeyRef != nil:
			ref := vf.ConfigMapKeyRef
			cm, err := objs.GetConfigMap(pod.Namespace, ref.Name)
			if err != nil {
				if !absentOK(err, ref.Optional) {
					return nil, configErr{err}
				}
				continue
			}
			v, ok := cm.Data[ref.Key]
			if !ok {
				if !optional(ref.Optional) {
					return nil, configErr{fmt.Errorf("couldn't find key %s in ConfigMap %s/%s", ref.Key, pod.Namespace, ref.Name)}
				}
				continue
			}
			set(e.Name, v)
		default:
			return nil, fmt.Errorf("%w: env %q: this valueFrom is not supported", errConfig, e.Name)
		}
	}
	for _, e := range svc {
		if _, ok := index[e.Name]; !ok {
			out = append(out, e)
		}
	}
	return out, nil
}

func optional(b *bool) bool { return b != nil && *b }

// absentOK: an optional reference to an object that does not exist (or
// cannot exist: no API server) is skipped.
func absentOK(err error, opt *bool) bool {
	return optional(opt) && (apierrors.IsNotFound(err) || errors.Is(err, volume.ErrNoAPIServer))
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// fieldValue is the downward API value of a fieldRef path.
func fieldValue(pod *v1.Pod, path string, net podNetwork) (string, error) {
	if k, ok := volume.Subscript(path, "metadata.labels"); ok {
		return pod.Labels[k], nil
	}
	if k, ok := volume.Subscript(path, "metadata.annotations"); ok {
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
