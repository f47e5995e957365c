package node

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// healthy is a host with plenty of everything.
func healthy() Measures {
	return Measures{
		MemAvailable: 4 << 30, MemTotal: 8 << 30,
		FSAvailable: 50 << 30, FSBytes: 100 << 30, InodesFree: 900, Inodes: 1000,
		PIDs: 500, PIDMax: 32768,
	}
}

func TestPressureOf(t *testing.T) {
	tests := []struct {
		name string
		mut  func(*Measures)
		want Pressure
	}{
		{"healthy", nil, Pressure{}},
		{"unknown measures give no pressure", func(m *Measures) { *m = Measures{} }, Pressure{}},
		{"memory just above 100Mi", func(m *Measures) { m.MemAvailable = 100<<20 + 1 }, Pressure{}},
		{"memory at 100Mi", func(m *Measures) { m.MemAvailable = 100 << 20 }, Pressure{}},
		{"memory below 100Mi", func(m *Measures) { m.MemAvailable = 100<<20 - 1 }, Pressure{Memory: true}},
		{"disk at 10%", func(m *Measures) { m.FSAvailable = 10 << 30 }, Pressure{}},
		{"disk below 10%", func(m *Measures) { m.FSAvailable = 10<<30 - 1 }, Pressure{Disk: true}},
		{"inodes below 5%", func(m *Measures) { m.InodesFree = 49 }, Pressure{Disk: true}},
		{"inodes at 5%", func(m *Measures) { m.InodesFree = 50 }, Pressure{}},
		{"pids: less than 10% left", func(m *Measures) { m.PIDs = 29492 }, Pressure{PID: true}},
		{"pids: 10% left", func(m *Measures) { m.PIDs = 32768 - 3277 }, Pressure{}},
		{"all at once", func(m *Measures) { m.MemAvailable, m.FSAvailable, m.PIDs = 0, 0, 32768 }, Pressure{true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := healthy()
			if tt.mut != nil {
				tt.mut(&m)
			}
			if got := PressureOf(m, DefaultThresholds); got != tt.want {
				t.Errorf("PressureOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestStatusPressureConditions(t *testing.T) {
	cfg := testConfig()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := Status(cfg, healthy(), v1.NodeStatus{}, t0)
	m := healthy()
	m.MemAvailable = 10 << 20
	m.FSAvailable = 1 << 30
	t1 := t0.Add(10 * time.Second)
	s2 := Status(cfg, m, s, t1)
	want := map[v1.NodeConditionType]struct {
		status          v1.ConditionStatus
		reason, message string
		transition      time.Time
	}{
		v1.NodeMemoryPressure: {v1.ConditionTrue, "KubeletHasInsufficientMemory", "kubelet has insufficient memory available", t1},
		v1.NodeDiskPressure:   {v1.ConditionTrue, "KubeletHasDiskPressure", "kubelet has disk pressure", t1},
		v1.NodePIDPressure:    {v1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available", t0},
		v1.NodeReady:          {v1.ConditionTrue, "KubeletReady", "kubelet is posting ready status", t0},
	}
	if len(s2.Conditions) != len(want) {
		t.Fatalf("conditions %+v", s2.Conditions)
	}
	for _, c := range s2.Conditions {
		w := want[c.Type]
		if c.Status != w.status || c.Reason != w.reason || c.Message != w.message || !c.LastTransitionTime.Time.Equal(w.transition) {
			t.Errorf("%s: %s %q %q since %v; want %+v", c.Type, c.Status, c.Reason, c.Message, c.LastTransitionTime, w)
		}
	}
}

func TestParseMemInfo(t *testing.T) {
	total, avail := parseMemInfo([]byte("MemTotal:        2048 kB\nMemFree: 1 kB\nMemAvailable:     1024 kB\n"))
	if total != 2048*1024 || avail != 1024*1024 {
		t.Errorf("MemTotal %d MemAvailable %d", total, avail)
	}
}

func TestReadMeasures(t *testing.T) {
	m := ReadMeasures(t.TempDir())
	if m.MemTotal <= 0 || m.MemAvailable <= 0 || m.FSBytes <= 0 || m.PIDMax <= 0 || m.PIDs <= 0 {
		t.Errorf("measures of this host: %+v", m)
	}
}
