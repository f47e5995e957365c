package oci

import (
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

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

// currentCapabilities are the capabilities this process holds (its
// effective set, read once): the most runc, started by it, can give a
// container. Privileged containers and `add: [ALL]` get these, as with
// containerd's WithAllCurrentCapabilities: a host (or a container the
// agent runs in) without CAP_SYS_RESOURCE, say, cannot hand it out, and
// asking runc for it fails every start ("unable to apply caps").
var currentCapabilities = sync.OnceValue(func() []string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return append([]string(nil), allCapabilities...)
	}
	return capabilitiesFromStatus(b)
})

// capabilitiesFromStatus reads the CapEff line of a /proc/<pid>/status;
// all known capabilities when it has none.
func capabilitiesFromStatus(status []byte) []string {
	for _, l := range strings.Split(string(status), "\n") {
		hex, ok := strings.CutPrefix(l, "CapEff:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			break
		}
		var out []string
		for i, name := range allCapabilities {
			if mask&(1<<uint(i)) != 0 {
				out = append(out, name)
			}
		}
		return out
	}
	return append([]string(nil), allCapabilities...)
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
// containerd does: add ALL grants every capability this process holds,
// drop ALL (which wins) empties the set, then single adds, then single
// drops apply; privileged grants every capability this process holds (in
// the kernel's order; the other results are sorted).
func Capabilities(c *v1.Capabilities, privileged bool) []string {
	return capabilities(c, privileged, currentCapabilities())
}

// capabilities is Capabilities with current, the capabilities that
// privileged and add ALL give.
func capabilities(c *v1.Capabilities, privileged bool, current []string) []string {
	if privileged {
		return append([]string(nil), current...) // in the kernel's order
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
			for _, n := range current {
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
