package node

import (
	"bufio"
	"bytes"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// HostInfo are the facts about the host a node reports.
type HostInfo struct {
	Hostname       string
	CPUs           int64
	MemoryBytes    int64
	EphemeralBytes int64 // size of the data dir's filesystem
	KernelVersion  string
	OSImage        string
	MachineID      string
	BootID         string
	Arch           string
	RuntimeVersion string // "runc://1.x"
	KubeletVersion string // the server's v1.33 version string
	// AppArmor reports that the kernel enforces AppArmor (the kubelet's
	// and runc's check: /sys/module/apparmor/parameters/enabled is Y).
	AppArmor bool
}

// ReadHost reads the host facts from /proc, /etc and statfs(dataDir).
func ReadHost(dataDir string) HostInfo {
	h := HostInfo{CPUs: int64(goruntime.NumCPU()), Arch: goruntime.GOARCH}
	h.Hostname, _ = os.Hostname()
	h.Hostname = strings.ToLower(h.Hostname)
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		h.MemoryBytes = parseMemTotal(b)
	}
	var st unix.Statfs_t
	if unix.Statfs(dataDir, &st) == nil {
		h.EphemeralBytes = int64(st.Blocks) * int64(st.Bsize)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.KernelVersion = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		h.OSImage = parseOSRelease(b)
	}
	if h.OSImage == "" {
		h.OSImage = "Linux"
	}
	if b, err := os.ReadFile("/etc/machine-id"); err == nil {
		h.MachineID = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled"); err == nil {
		h.AppArmor = strings.HasPrefix(string(b), "Y")
	}
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		h.BootID = strings.TrimSpace(string(b))
	}
	return h
}

// parseMemTotal is MemTotal of /proc/meminfo in bytes.
func parseMemTotal(b []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// parseOSRelease is PRETTY_NAME of an os-release file.
func parseOSRelease(b []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

// Labels are the node's labels: the well-known ones plus extra (extra wins).
func Labels(cfg Config) map[string]string {
	l := map[string]string{
		v1.LabelHostname: cfg.Name,
		v1.LabelOSStable: "linux",
		v1.LabelArchStable: func() string {
			if cfg.Host.Arch != "" {
				return cfg.Host.Arch
			}
			return goruntime.GOARCH
		}(),
	}
	for k, v := range cfg.Labels {
		l[k] = v
	}
	return l
}

// Desired is the Node object the agent creates.
func Desired(cfg Config) *v1.Node {
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: cfg.Name, Labels: Labels(cfg)},
	}
	if cfg.PodCIDR != "" {
		n.Spec.PodCIDR = cfg.PodCIDR
		n.Spec.PodCIDRs = []string{cfg.PodCIDR}
	}
	n.Status = Status(cfg, Measures{}, v1.NodeStatus{}, time.Now())
	return n
}

// Capacity is what the node reports as capacity and allocatable (no
// reservations): the host's CPUs, memory and data-dir filesystem, and
// DefaultMaxPods. The downward API reads unset limits from it too.
func Capacity(h HostInfo) v1.ResourceList {
	return v1.ResourceList{
		v1.ResourceCPU:              *resource.NewQuantity(h.CPUs, resource.DecimalSI),
		v1.ResourceMemory:           *resource.NewQuantity(h.MemoryBytes, resource.BinarySI),
		v1.ResourcePods:             *resource.NewQuantity(DefaultMaxPods, resource.DecimalSI),
		v1.ResourceEphemeralStorage: *resource.NewQuantity(h.EphemeralBytes, resource.BinarySI),
	}
}

// Status is the node status at now with the pressure conditions of m;
// prev supplies the conditions' lastTransitionTime when they did not
// change.
func Status(cfg Config, m Measures, prev v1.NodeStatus, now time.Time) v1.NodeStatus {
	h := cfg.Host
	capacity := Capacity(h)
	s := v1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity.DeepCopy(),
		NodeInfo: v1.NodeSystemInfo{
			MachineID:               h.MachineID,
			BootID:                  h.BootID,
			KernelVersion:           h.KernelVersion,
			OSImage:                 h.OSImage,
			ContainerRuntimeVersion: h.RuntimeVersion,
			KubeletVersion:          h.KubeletVersion,
			OperatingSystem:         "linux",
			Architecture:            Labels(cfg)[v1.LabelArchStable],
		},
		DaemonEndpoints: v1.NodeDaemonEndpoints{KubeletEndpoint: v1.DaemonEndpoint{Port: cfg.Port}},
	}
	if cfg.NodeIP != "" {
		s.Addresses = append(s.Addresses, v1.NodeAddress{Type: v1.NodeInternalIP, Address: cfg.NodeIP})
	}
	hostname := h.Hostname
	if hostname == "" {
		hostname = cfg.Name
	}
	s.Addresses = append(s.Addresses, v1.NodeAddress{Type: v1.NodeHostName, Address: hostname})
	s.Images = prev.Images
	hb := metav1.NewTime(now)
	conds := append(pressureConditions(PressureOf(m, cfg.thresholds())),
		pressureCondition{v1.NodeReady, v1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"})
	for _, c := range conds {
		cond := v1.NodeCondition{Type: c.t, Status: c.status, Reason: c.reason, Message: c.message, LastHeartbeatTime: hb, LastTransitionTime: hb}
		for _, p := range prev.Conditions {
			if p.Type == c.t && p.Status == c.status && !p.LastTransitionTime.IsZero() {
				cond.LastTransitionTime = p.LastTransitionTime
			}
		}
		s.Conditions = append(s.Conditions, cond)
	}
	return s
}
