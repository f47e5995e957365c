package node

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func testConfig() Config {
	return Config{
		Name: "n1", Labels: map[string]string{"disktype": "ssd"}, NodeIP: "192.0.2.7", PodCIDR: "10.85.3.0/24", Port: 10250,
		Host: HostInfo{Hostname: "host", CPUs: 4, MemoryBytes: 8 << 30, EphemeralBytes: 100 << 30, Arch: "amd64",
			KernelVersion: "6.1", OSImage: "Debian", RuntimeVersion: "runc://1.1.5", KubeletVersion: "v1.33.0-peapod"},
	}
}

func TestStatus(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := testConfig()
	s := Status(cfg, Measures{}, v1.NodeStatus{}, t0)
	if q := s.Capacity[v1.ResourcePods]; q.Value() != 110 {
		t.Errorf("pods %v", q.String())
	}
	if q := s.Allocatable[v1.ResourceCPU]; q.Value() != 4 {
		t.Errorf("cpu %v", q.String())
	}
	if q := s.Capacity[v1.ResourceMemory]; q.Value() != 8<<30 {
		t.Errorf("memory %v", q.String())
	}
	if s.DaemonEndpoints.KubeletEndpoint.Port != 10250 || s.NodeInfo.ContainerRuntimeVersion != "runc://1.1.5" || s.NodeInfo.KubeletVersion != "v1.33.0-peapod" {
		t.Errorf("status %+v", s)
	}
	if len(s.Addresses) != 2 || s.Addresses[0] != (v1.NodeAddress{Type: v1.NodeInternalIP, Address: "192.0.2.7"}) || s.Addresses[1].Type != v1.NodeHostName {
		t.Errorf("addresses %+v", s.Addresses)
	}
	want := map[v1.NodeConditionType]string{
		v1.NodeReady: "KubeletReady", v1.NodeMemoryPressure: "KubeletHasSufficientMemory",
		v1.NodeDiskPressure: "KubeletHasNoDiskPressure", v1.NodePIDPressure: "KubeletHasSufficientPID",
	}
	for _, c := range s.Conditions {
		if want[c.Type] != c.Reason {
			t.Errorf("condition %s reason %q", c.Type, c.Reason)
		}
		if (c.Type == v1.NodeReady) != (c.Status == v1.ConditionTrue) {
			t.Errorf("condition %s status %s", c.Type, c.Status)
		}
		delete(want, c.Type)
	}
	if len(want) != 0 {
		t.Errorf("missing conditions %v", want)
	}
	// A later status keeps the transition times and moves the heartbeat.
	t1 := t0.Add(10 * time.Second)
	s2 := Status(cfg, Measures{}, s, t1)
	for _, c := range s2.Conditions {
		if !c.LastTransitionTime.Time.Equal(t0) || !c.LastHeartbeatTime.Time.Equal(t1) {
			t.Errorf("%s: transition %v heartbeat %v", c.Type, c.LastTransitionTime, c.LastHeartbeatTime)
		}
	}
}

func TestLabels(t *testing.T) {
	l := Labels(testConfig())
	for k, v := range map[string]string{"kubernetes.io/hostname": "n1", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "disktype": "ssd"} {
		if l[k] != v {
			t.Errorf("label %s = %q, want %q", k, l[k], v)
		}
	}
}

func TestParse(t *testing.T) {
	if got := parseMemTotal([]byte("MemTotal:        2048 kB\nMemFree: 1 kB\n")); got != 2048*1024 {
		t.Errorf("MemTotal %d", got)
	}
	if got := parseOSRelease([]byte("NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n")); got != "Debian GNU/Linux 12 (bookworm)" {
		t.Errorf("PRETTY_NAME %q", got)
	}
}

func TestRegisterCreatesAndReuses(t *testing.T) {
	ctx := context.Background()
	client := fake.NewSimpleClientset()
	h, err := New(client, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Register(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if err != nil || n.Spec.PodCIDR != "10.85.3.0/24" || n.Labels["disktype"] != "ssd" || len(n.Status.Conditions) != 4 {
		t.Fatalf("node %+v %v", n, err)
	}
	l, err := client.CoordinationV1().Leases(LeaseNamespace).Get(ctx, "n1", metav1.GetOptions{})
	if err != nil || *l.Spec.HolderIdentity != "n1" || *l.Spec.LeaseDurationSeconds != 40 {
		t.Fatalf("lease %+v %v", l, err)
	}
	// A restarted agent reuses the Node, keeping labels others added.
	n.Labels["team"] = "a"
	if _, err := client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Labels = map[string]string{"disktype": "hdd"}
	h2, _ := New(client, cfg)
	if err := h2.Register(ctx); err != nil {
		t.Fatal(err)
	}
	n, _ = client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if n.Labels["team"] != "a" || n.Labels["disktype"] != "hdd" {
		t.Errorf("labels after re-registration %v", n.Labels)
	}
	if l, _ := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); len(l.Items) != 1 {
		t.Errorf("%d nodes", len(l.Items))
	}
}
