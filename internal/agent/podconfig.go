package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/peapod/peapod/internal/runtime"
)

// PodDir is <data-dir>/pods/<ns>_<name>_<uid>: the pod's log directory
// (logs in <container>/<attempt>.log) and volumes (volumes/...).
func PodDir(dataDir string, pod *v1.Pod) string {
	return filepath.Join(dataDir, "pods", fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
}

// podLabels are the labels every runtime object of pod carries.
func podLabels(pod *v1.Pod) map[string]string {
	return map[string]string{
		runtime.LabelPodName:      pod.Name,
		runtime.LabelPodNamespace: pod.Namespace,
		runtime.LabelPodUID:       string(pod.UID),
	}
}

// hostnameAndDomain is the kubelet's GeneratePodHostNameAndDomain.
func hostnameAndDomain(pod *v1.Pod, clusterDomain string) (string, string) {
	host := pod.Name
	if pod.Spec.Hostname != "" {
		host = pod.Spec.Hostname
	}
	if len(host) > 63 {
		host = host[:63]
	}
	host = strings.TrimRight(host, "-.")
	domain := ""
	if pod.Spec.Subdomain != "" {
		domain = fmt.Sprintf("%s.%s.svc.%s", pod.Spec.Subdomain, pod.Namespace, clusterDomain)
	}
	return host, domain
}

// sandboxConfig describes pod's sandbox to the runtime.
func (d *deps) sandboxConfig(pod *v1.Pod, attempt uint32) *runtime.SandboxConfig {
	host, domain := hostnameAndDomain(pod, d.clusterDomain)
	cfg := &runtime.SandboxConfig{
		Name: pod.Name, Namespace: pod.Namespace, UID: string(pod.UID), Attempt: attempt,
		Hostname:              host,
		HostNetwork:           pod.Spec.HostNetwork,
		HostIPC:               pod.Spec.HostIPC,
		HostPID:               pod.Spec.HostPID,
		ShareProcessNamespace: pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace,
		HostAliases:           pod.Spec.HostAliases,
		DNS:                   dnsConfig(pod, d.hostResolvConf),
		Labels:                podLabels(pod),
		Annotations:           pod.Annotations,
		LogDirectory:          PodDir(d.dataDir, pod),
	}
	if domain != "" {
		cfg.HostnameFQDN = host + "." + domain
	}
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				cfg.PortMappings = append(cfg.PortMappings, runtime.PortMapping{
					Protocol: p.Protocol, ContainerPort: p.ContainerPort, HostPort: p.HostPort, HostIP: p.HostIP})
			}
		}
	}
	return cfg
}

// dnsConfig is the pod's resolv.conf. Without cluster DNS (static pods for
// now) every policy but None falls back to the node's resolv.conf, as the
// kubelet does; spec.dnsConfig is merged in.
func dnsConfig(pod *v1.Pod, hostResolv []byte) runtime.DNSConfig {
	var dns runtime.DNSConfig
	if pod.Spec.DNSPolicy != v1.DNSNone {
		dns = parseResolvConf(hostResolv)
	}
	if c := pod.Spec.DNSConfig; c != nil {
		dns.Servers = appendUnique(dns.Servers, c.Nameservers...)
		dns.Searches = appendUnique(dns.Searches, c.Searches...)
		for _, o := range c.Options {
			opt := o.Name
			if o.Value != nil {
				opt += ":" + *o.Value
			}
			dns.Options = mergeOption(dns.Options, o.Name, opt)
		}
	}
	if len(dns.Servers) > 3 {
		dns.Servers = dns.Servers[:3]
	}
	if len(dns.Searches) > 32 {
		dns.Searches = dns.Searches[:32]
	}
	return dns
}

func parseResolvConf(b []byte) runtime.DNSConfig {
	var dns runtime.DNSConfig
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			dns.Servers = appendUnique(dns.Servers, f[1])
		case "search", "domain":
			dns.Searches = appendUnique(nil, f[1:]...)
		case "options":
			for _, o := range f[1:] {
				name, _, _ := strings.Cut(o, ":")
				dns.Options = mergeOption(dns.Options, name, o)
			}
		}
	}
	return dns
}

func appendUnique(list []string, items ...string) []string {
	for _, it := range items {
		dup := false
		for _, l := range list {
			if l == it {
				dup = true
				break
			}
		}
		if !dup {
			list = append(list, it)
		}
	}
	return list
}

func mergeOption(opts []string, name, opt string) []string {
	for i, o := range opts {
		if n, _, _ := strings.Cut(o, ":"); n == name {
			opts[i] = opt
			return opts
		}
	}
	return append(opts, opt)
}
