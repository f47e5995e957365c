package pod

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPrepareForCreate(t *testing.T) {
	s := NewResource().Strategy
	p := validPod()
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "1.2.3.4"}
	p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/wait"}}
	s.PrepareForCreate(context.Background(), p)
	if p.Status.Phase != corev1.PodPending || p.Status.PodIP != "" || p.Status.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("status = %+v", p.Status)
	}
	if len(p.Status.Conditions) != 1 || p.Status.Conditions[0].Reason != corev1.PodReasonSchedulingGated {
		t.Errorf("conditions = %+v", p.Status.Conditions)
	}
	if p.Generation != 1 {
		t.Errorf("generation = %d", p.Generation)
	}
	if p.Spec.NodeName != "" {
		t.Error("nodeName changed")
	}
}

// TestPrepareForCreateDropsStopSignal: lifecycle.stopSignal is dropped as
// Kubernetes 1.33 drops it with ContainerStopSignals off (nothing honours
// it); a lifecycle left empty goes too.
func TestPrepareForCreateDropsStopSignal(t *testing.T) {
	p := validPod()
	sig := corev1.SIGUSR1
	p.Spec.InitContainers = []corev1.Container{container("init", "busybox")}
	p.Spec.InitContainers[0].Lifecycle = &corev1.Lifecycle{StopSignal: &sig}
	p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{StopSignal: &sig,
		PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 1}}}
	NewResource().Strategy.PrepareForCreate(context.Background(), p)
	if p.Spec.InitContainers[0].Lifecycle != nil {
		t.Errorf("init container lifecycle = %+v", p.Spec.InitContainers[0].Lifecycle)
	}
	if l := p.Spec.Containers[0].Lifecycle; l == nil || l.StopSignal != nil || l.PreStop == nil {
		t.Errorf("container lifecycle = %+v", l)
	}
}

func TestQOSClass(t *testing.T) {
	rl := func(cpu, mem string) corev1.ResourceList {
		l := corev1.ResourceList{}
		if cpu != "" {
			l[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			l[corev1.ResourceMemory] = resource.MustParse(mem)
		}
		return l
	}
	cases := []struct {
		name      string
		resources []corev1.ResourceRequirements
		want      corev1.PodQOSClass
	}{
		{"nothing", []corev1.ResourceRequirements{{}}, corev1.PodQOSBestEffort},
		{"limits only (requests default to them)", []corev1.ResourceRequirements{{Limits: rl("1", "1Gi")}}, corev1.PodQOSGuaranteed},
		{"equal requests and limits", []corev1.ResourceRequirements{{Limits: rl("1", "1Gi"), Requests: rl("1", "1Gi")}}, corev1.PodQOSGuaranteed},
		{"lower request", []corev1.ResourceRequirements{{Limits: rl("1", "1Gi"), Requests: rl("500m", "1Gi")}}, corev1.PodQOSBurstable},
		{"cpu limit only", []corev1.ResourceRequirements{{Limits: rl("1", "")}}, corev1.PodQOSBurstable},
		{"request only", []corev1.ResourceRequirements{{Requests: rl("", "1Gi")}}, corev1.PodQOSBurstable},
		{"one guaranteed, one best effort", []corev1.ResourceRequirements{{Limits: rl("1", "1Gi")}, {}}, corev1.PodQOSBurstable},
		{"zero quantities are ignored", []corev1.ResourceRequirements{{Requests: rl("0", "0")}}, corev1.PodQOSBestEffort},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := validPod()
			p.Spec.Containers = nil
			for i, r := range c.resources {
				ct := container(string(rune('a'+i)), "x")
				ct.Resources = r
				p.Spec.Containers = append(p.Spec.Containers, ct)
			}
			if got := QOSClass(p); got != c.want {
				t.Errorf("QOSClass = %s, want %s", got, c.want)
			}
		})
	}
}

func TestPrepareForUpdate(t *testing.T) {
	s := NewResource().Strategy
	old := validPod()
	old.Generation = 3
	old.Status = corev1.PodStatus{Phase: corev1.PodRunning}

	same := old.DeepCopy()
	same.Status = corev1.PodStatus{Phase: corev1.PodFailed}
	same.Generation = 9
	same.Labels = map[string]string{"a": "b"}
	s.PrepareForUpdate(context.Background(), same, old)
	if same.Status.Phase != corev1.PodRunning || same.Generation != 3 {
		t.Errorf("metadata-only update: phase %s generation %d", same.Status.Phase, same.Generation)
	}

	changed := old.DeepCopy()
	changed.Spec.Containers[0].Image = "other"
	s.PrepareForUpdate(context.Background(), changed, old)
	if changed.Generation != 4 {
		t.Errorf("spec update: generation %d, want 4", changed.Generation)
	}
}

func TestPrepareForStatusUpdate(t *testing.T) {
	ss := NewResource().Strategy.(*Strategy)
	old := validPod()
	old.Status.QOSClass = corev1.PodQOSBurstable
	old.OwnerReferences = []metav1.OwnerReference{{Name: "rs"}}
	p := old.DeepCopy()
	p.Spec.NodeName = "sneaky"
	p.OwnerReferences = nil
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.2", HostIPs: []corev1.HostIP{{IP: "192.168.1.5"}}}
	ss.PrepareForStatusUpdate(context.Background(), p, old)
	if p.Spec.NodeName != "" || len(p.OwnerReferences) != 1 {
		t.Errorf("spec or ownerReferences changed through status: %q %v", p.Spec.NodeName, p.OwnerReferences)
	}
	if p.Status.QOSClass != corev1.PodQOSBurstable || len(p.Status.PodIPs) != 1 || p.Status.PodIPs[0].IP != "10.0.0.2" || p.Status.HostIP != "192.168.1.5" {
		t.Errorf("status = %+v", p.Status)
	}
}

func TestSyncIPs(t *testing.T) {
	cases := []struct {
		name string
		in   corev1.PodStatus
		ip   string
		ips  []string
	}{
		{"podIP only", corev1.PodStatus{PodIP: "10.0.0.1"}, "10.0.0.1", []string{"10.0.0.1"}},
		{"podIPs only", corev1.PodStatus{PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}}, "10.0.0.1", []string{"10.0.0.1", "fd00::1"}},
		{"podIP wins when they differ", corev1.PodStatus{PodIP: "10.0.0.2", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}}}, "10.0.0.2", []string{"10.0.0.2"}},
		{"consistent dual stack kept", corev1.PodStatus{PodIP: "10.0.0.1", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}}, "10.0.0.1", []string{"10.0.0.1", "fd00::1"}},
		{"none", corev1.PodStatus{}, "", nil},
	}
	for _, c := range cases {
		s := c.in
		syncIPs(&s)
		got := podIPs(s.PodIPs)
		if s.PodIP != c.ip || len(got) != len(c.ips) {
			t.Errorf("%s: %q %v", c.name, s.PodIP, got)
			continue
		}
		for i := range got {
			if got[i] != c.ips[i] {
				t.Errorf("%s: %v, want %v", c.name, got, c.ips)
			}
		}
	}
}

func TestCheckGracefulDelete(t *testing.T) {
	gd := NewResource().Strategy.(*Strategy)
	cases := []struct {
		name      string
		nodeName  string
		phase     corev1.PodPhase
		spec      *int64
		requested *int64
		want      int64
		graceful  bool
	}{
		{"spec default", "n1", corev1.PodRunning, ptr(int64(30)), nil, 30, true},
		{"requested wins", "n1", corev1.PodRunning, ptr(int64(30)), ptr(int64(5)), 5, true},
		{"requested zero", "n1", corev1.PodRunning, ptr(int64(30)), ptr(int64(0)), 0, false},
		{"unscheduled is immediate", "", corev1.PodPending, ptr(int64(30)), ptr(int64(10)), 0, false},
		{"succeeded is immediate", "n1", corev1.PodSucceeded, ptr(int64(30)), nil, 0, false},
		{"failed is immediate", "n1", corev1.PodFailed, ptr(int64(30)), nil, 0, false},
		{"negative becomes 1", "n1", corev1.PodRunning, ptr(int64(-5)), nil, 1, true},
		{"no spec value", "n1", corev1.PodRunning, nil, nil, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := validPod()
			p.Spec.NodeName = c.nodeName
			p.Status.Phase = c.phase
			p.Spec.TerminationGracePeriodSeconds = c.spec
			opts := &metav1.DeleteOptions{GracePeriodSeconds: c.requested}
			got := gd.CheckGracefulDelete(context.Background(), p, opts)
			if got != c.graceful || opts.GracePeriodSeconds == nil || *opts.GracePeriodSeconds != c.want {
				t.Errorf("graceful %v grace %v, want %v %d", got, opts.GracePeriodSeconds, c.graceful, c.want)
			}
		})
	}
	if gd.CheckGracefulDelete(context.Background(), validPod(), nil) {
		t.Error("nil options must not be graceful")
	}
}

func TestGetAttrs(t *testing.T) {
	s := NewResource().Strategy
	p := validPod()
	p.Labels = map[string]string{"app": "web"}
	p.Spec.NodeName = "n1"
	p.Spec.ServiceAccountName = "sa"
	p.Spec.HostNetwork = true
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.0.0.9"}}, NominatedNodeName: "n2"}
	l, f, err := s.GetAttrs(p)
	if err != nil || l["app"] != "web" {
		t.Fatalf("labels %v err %v", l, err)
	}
	want := map[string]string{
		"metadata.name": "web", "metadata.namespace": "default", "spec.nodeName": "n1",
		"spec.restartPolicy": "Always", "spec.schedulerName": "default-scheduler", "spec.serviceAccountName": "sa",
		"spec.hostNetwork": "true", "status.phase": "Running", "status.podIP": "10.0.0.9", "status.nominatedNodeName": "n2",
	}
	if len(f) != len(want) {
		t.Errorf("fields = %v", f)
	}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("field %s = %q, want %q", k, f[k], v)
		}
	}
	sel := append([]string{"metadata.name", "metadata.namespace"}, s.(*Strategy).SelectableFields()...)
	if len(sel) != len(want) {
		t.Errorf("SelectableFields = %v", sel)
	}
	for _, k := range sel {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected selectable field %s", k)
		}
	}
}
