package node

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
)

// Measures are the host figures the pressure conditions are computed
// from. A zero total (MemTotal, FSBytes, Inodes, PIDMax) means unknown, and
// gives no pressure.
type Measures struct {
	// MemAvailable and MemTotal are /proc/meminfo's, in bytes.
	MemAvailable, MemTotal int64
	// FSAvailable and FSBytes are the free (to unprivileged users) and
	// total bytes of the data dir's filesystem, the kubelet's nodefs;
	// InodesFree and Inodes its inodes.
	FSAvailable, FSBytes int64
	InodesFree, Inodes   int64
	// PIDs is the number of processes (threads) on the host, PIDMax the
	// lower of kernel.pid_max and kernel.threads-max, as the kubelet's
	// pid.available signal.
	PIDs, PIDMax int64
}

// Thresholds are the levels below which a resource is under pressure:
// the kubelet's default hard eviction thresholds on Linux
// (memory.available<100Mi, nodefs.available<10%, nodefs.inodesFree<5%),
// and pid.available<10%, which the kubelet has no default for.
type Thresholds struct {
	MemoryAvailable  int64 // bytes
	FSAvailablePct   int64 // percent of the filesystem
	InodesFreePct    int64 // percent of the inodes
	PIDsAvailablePct int64 // percent of PIDMax
}

// DefaultThresholds are the thresholds peapod uses.
var DefaultThresholds = Thresholds{MemoryAvailable: 100 << 20, FSAvailablePct: 10, InodesFreePct: 5, PIDsAvailablePct: 10}

// Pressure tells which resources are under pressure.
type Pressure struct {
	Memory, Disk, PID bool
}

// PressureOf is the pressure m shows against th.
func PressureOf(m Measures, th Thresholds) Pressure {
	below := func(avail, total, pct int64) bool { return total > 0 && avail*100 < total*pct }
	return Pressure{
		Memory: m.MemTotal > 0 && m.MemAvailable < th.MemoryAvailable,
		Disk:   below(m.FSAvailable, m.FSBytes, th.FSAvailablePct) || below(m.InodesFree, m.Inodes, th.InodesFreePct),
		PID:    below(m.PIDMax-m.PIDs, m.PIDMax, th.PIDsAvailablePct),
	}
}

// pressureCondition is one node condition in the kubelet's wording
// (pkg/kubelet/nodestatus setters).
type pressureCondition struct {
	t               v1.NodeConditionType
	status          v1.ConditionStatus
	reason, message string
}

func pressureConditions(p Pressure) []pressureCondition {
	c := func(t v1.NodeConditionType, on bool, onReason, onMsg, offReason, offMsg string) pressureCondition {
		if on {
			return pressureCondition{t, v1.ConditionTrue, onReason, onMsg}
		}
		return pressureCondition{t, v1.ConditionFalse, offReason, offMsg}
	}
	return []pressureCondition{
		c(v1.NodeMemoryPressure, p.Memory, "KubeletHasInsufficientMemory", "kubelet has insufficient memory available",
			"KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		c(v1.NodeDiskPressure, p.Disk, "KubeletHasDiskPressure", "kubelet has disk pressure",
			"KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		c(v1.NodePIDPressure, p.PID, "KubeletHasInsufficientPID", "kubelet has insufficient PID available",
			"KubeletHasSufficientPID", "kubelet has sufficient PID available"),
	}
}

// ReadMeasures reads the measures from /proc and statfs(dataDir); what
// cannot be read stays zero (unknown).
func ReadMeasures(dataDir string) Measures {
	var m Measures
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemTotal, m.MemAvailable = parseMemInfo(b)
	}
	var st unix.Statfs_t
	if dataDir != "" && unix.Statfs(dataDir, &st) == nil {
		m.FSBytes = int64(st.Blocks) * int64(st.Bsize)
		m.FSAvailable = int64(st.Bavail) * int64(st.Bsize)
		m.Inodes, m.InodesFree = int64(st.Files), int64(st.Ffree)
	}
	m.PIDMax = readInt("/proc/sys/kernel/pid_max")
	if tm := readInt("/proc/sys/kernel/threads-max"); tm > 0 && (m.PIDMax == 0 || tm < m.PIDMax) {
		m.PIDMax = tm
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		m.PIDs = int64(si.Procs)
	}
	return m
}

func readInt(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// parseMemInfo is MemTotal and MemAvailable of /proc/meminfo in bytes.
func parseMemInfo(b []byte) (total, available int64) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "MemTotal:":
			total = kb * 1024
		case "MemAvailable:":
			available = kb * 1024
		}
	}
	return total, available
}
