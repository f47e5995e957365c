// Package network sets up pod networking through CNI (libcni with the
// bridge, host-local, loopback and portmap plugins) and formats the
// per-pod /etc/hosts, /etc/hostname and /etc/resolv.conf files.
//
// The formatters are pure: they take every input (including the node's
// own files) as values.
package network

import (
	"bytes"
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// HostsInput is what a pod's /etc/hosts is made of.
type HostsInput struct {
	HostNetwork bool
	// NodeHosts is the node's /etc/hosts, copied verbatim with HostNetwork.
	NodeHosts []byte
	PodIPs    []string
	Hostname  string
	// FQDN is "<hostname>.<subdomain>.<ns>.svc.<cluster-domain>" when the
	// pod has a subdomain, else empty.
	FQDN        string
	HostAliases []v1.HostAlias
}

// HostsFile renders /etc/hosts as the kubelet does (managedHostsFileContent
// and nodeHostsFileContent).
func HostsFile(in HostsInput) []byte {
	var b bytes.Buffer
	if in.HostNetwork {
		b.WriteString("# Kubernetes-managed hosts file (host network).\n")
		b.Write(in.NodeHosts)
		b.Write(hostAliasesBlock(in.HostAliases))
		return b.Bytes()
	}
	b.WriteString("# Kubernetes-managed hosts file.\n")
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\n")
	b.WriteString("fe00::0\tip6-mcastprefix\n")
	b.WriteString("fe00::1\tip6-allnodes\n")
	b.WriteString("fe00::2\tip6-allrouters\n")
	for _, ip := range in.PodIPs {
		if in.FQDN != "" && in.FQDN != in.Hostname {
			fmt.Fprintf(&b, "%s\t%s\t%s\n", ip, in.FQDN, in.Hostname)
		} else {
			fmt.Fprintf(&b, "%s\t%s\n", ip, in.Hostname)
		}
	}
	b.Write(hostAliasesBlock(in.HostAliases))
	return b.Bytes()
}

func hostAliasesBlock(aliases []v1.HostAlias) []byte {
	if len(aliases) == 0 {
		return nil
	}
	var b bytes.Buffer
	b.WriteString("\n# Entries added by HostAliases.\n")
	for _, a := range aliases {
		fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
	}
	return b.Bytes()
}

// HostnameFile renders /etc/hostname.
func HostnameFile(hostname string) []byte {
	return []byte(hostname + "\n")
}

// ResolvConf renders /etc/resolv.conf in the order search, nameserver,
// options (as containerd does). With no servers, searches or options the
// node's resolv.conf is used verbatim.
func ResolvConf(searches, servers, options []string, nodeResolv []byte) []byte {
	if len(searches) == 0 && len(servers) == 0 && len(options) == 0 {
		return append([]byte(nil), nodeResolv...)
	}
	var b bytes.Buffer
	if len(searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(searches, " "))
	}
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	return b.Bytes()
}
