package fit

import (
	corev1 "k8s.io/api/core/v1"
)

// HostPort is one host port a pod binds.
type HostPort struct {
	IP       string // "" or 0.0.0.0 means every address
	Protocol corev1.Protocol
	Port     int32
}

// PodHostPorts lists the host ports of the pod's containers (init
// containers included, as kube's NodePorts plugin), protocol defaulted to
// TCP and IP to 0.0.0.0.
func PodHostPorts(pod *corev1.Pod) []HostPort {
	var out []HostPort
	add := func(cs []corev1.Container) {
		for i := range cs {
			for _, p := range cs[i].Ports {
				if p.HostPort <= 0 {
					continue
				}
				hp := HostPort{IP: p.HostIP, Protocol: p.Protocol, Port: p.HostPort}
				if hp.IP == "" {
					hp.IP = "0.0.0.0"
				}
				if hp.Protocol == "" {
					hp.Protocol = corev1.ProtocolTCP
				}
				out = append(out, hp)
			}
		}
	}
	add(pod.Spec.InitContainers)
	add(pod.Spec.Containers)
	return out
}

// portConflict reports whether want collides with a used port: same
// protocol and port, and the same IP or either side on 0.0.0.0.
func portConflict(used map[HostPort]int, want HostPort) bool {
	if len(used) == 0 {
		return false
	}
	if want.IP == "0.0.0.0" {
		for u := range used {
			if u.Port == want.Port && u.Protocol == want.Protocol {
				return true
			}
		}
		return false
	}
	if used[want] > 0 {
		return true
	}
	return used[HostPort{IP: "0.0.0.0", Protocol: want.Protocol, Port: want.Port}] > 0
}
