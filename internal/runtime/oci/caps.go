package oci

import (
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// DefaultCapabilities is the containerd/CRI default capability set.
var defaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// allCapabilities are the capabilities runc knows (Linux 5.9+), in the
// kernel's order: a capability's index is its number.
var allCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// CapabilityNumber returns the kernel's number of capability name
// ("CAP_SYS_ADMIN"); ok is false for a name it does not know.
func CapabilityNumber(name string) (n uintptr, ok bool) {
	for i, c := range allCapabilities {
		if c == name {
			return uintptr(i), true
		}
	}
	return 0, false
}

// CapabilityName is the name of capability number n; ok is false for a
// number it does not know.
func CapabilityName(n uintptr) (name string, ok bool) {
	if n >= uintptr(len(allCapabilities)) {
		return "", false
	}
	return allCapabilities[n], true
}

// DefaultCapabilities returns a copy of the default capability set.
func DefaultCapabilities() []string { return append([]string(nil), defaultCapabilities...) }

func capName(c v1.Capability) string {
	s := strings.ToUpper(string(c))
	if !strings.HasPrefix(s, "CAP_") {
		s = "CAP_" + s
	}
	return s
}

// Capabilities applies a securityContext's add/drop to the default set as
// containerd does: add ALL grants every capability, drop ALL (which wins)
// empties the set, then single adds, then single drops apply; privileged
// grants every capability. The result is sorted.
func Capabilities(c *v1.Capabilities, privileged bool) []string {
	if privileged {
		return append([]string(nil), allCapabilities...)
	}
	set := map[string]bool{}
	for _, n := range defaultCapabilities {
		set[n] = true
	}
	if c != nil {
		has := func(list []v1.Capability) bool {
			for _, x := range list {
				if capName(x) == "CAP_ALL" {
					return true
				}
			}
			return false
		}
		if has(c.Add) {
			for _, n := range allCapabilities {
				set[n] = true
			}
		}
		if has(c.Drop) {
			set = map[string]bool{}
		}
		for _, a := range c.Add {
			if n := capName(a); n != "CAP_ALL" {
				set[n] = true
			}
		}
		for _, d := range c.Drop {
			delete(set, capName(d))
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
