package pod

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestValidateUpdate(t *testing.T) {
	cases := []struct {
		name   string
		old    func(p *corev1.Pod)
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{"labels and image may change", nil, func(p *corev1.Pod) {
			p.Labels = map[string]string{"a": "b"}
			p.Spec.Containers[0].Image = "busybox:1.37"
		}, []string{}},
		{"init image may change", func(p *corev1.Pod) { p.Spec.InitContainers = []corev1.Container{container("i", "a")} },
			func(p *corev1.Pod) { p.Spec.InitContainers[0].Image = "b" }, []string{}},
		{"activeDeadlineSeconds set and lowered", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(100)) },
			func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(50)) }, []string{}},
		{"activeDeadlineSeconds raised", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(100)) },
			func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(200)) },
			[]string{"FieldValueInvalid spec.activeDeadlineSeconds"}},
		{"activeDeadlineSeconds unset", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(100)) },
			func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = nil },
			[]string{"FieldValueInvalid spec.activeDeadlineSeconds"}},
		{"toleration added", nil, func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}}
		}, []string{}},
		{"toleration removed", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}}
		}, func(p *corev1.Pod) { p.Spec.Tolerations = nil },
			[]string{"FieldValueForbidden spec.tolerations"}},
		{"grace from negative to 1", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr(int64(-1)) },
			func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr(int64(1)) }, []string{}},
		{"grace change", nil, func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr(int64(5)) },
			[]string{"FieldValueForbidden spec"}},
		{"ports change", nil, func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: "TCP"}}
		}, []string{"FieldValueForbidden spec"}},
		{"container added", nil, func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, container("b", "x"))
		}, []string{"FieldValueForbidden spec.containers"}},
		{"empty image", nil, func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" },
			// reported twice, as upstream: by spec validation and by the update check
			[]string{"FieldValueRequired spec.containers[0].image", "FieldValueRequired spec.containers[0].image"}},
		{"mirror annotation may not be added", nil, func(p *corev1.Pod) {
			p.Spec.NodeName = ""
			p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
		}, []string{
			"FieldValueInvalid metadata.annotations[kubernetes.io/config.mirror]",
			"FieldValueForbidden metadata.annotations[kubernetes.io/config.mirror]",
			"FieldValueInvalid metadata.annotations[kubernetes.io/config.mirror]",
		}},
		{"QoS may not change", nil, func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
		}, []string{"FieldValueInvalid metadata", "FieldValueForbidden spec"}},
		{"name and uid immutable", nil, func(p *corev1.Pod) { p.Name, p.UID = "other", "u2" },
			[]string{"FieldValueInvalid metadata.name", "FieldValueInvalid metadata.uid"}},
		{"scheduling gate removed ok, added not", func(p *corev1.Pod) {
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "a"}}
		}, func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "b"}} },
			[]string{"FieldValueForbidden spec.schedulingGates[0].name"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old := validPod()
			if c.old != nil {
				c.old(old)
			}
			p := old.DeepCopy()
			c.mutate(p)
			checkErrs(t, ValidateUpdate(p, old), c.want)
		})
	}
}

func TestValidateUpdateMessage(t *testing.T) {
	old := validPod()
	p := old.DeepCopy()
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	errs := ValidateUpdate(p, old)
	if len(errs) != 1 {
		t.Fatalf("errs = %v", errs)
	}
	want := "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"
	if !strings.HasPrefix(errs[0].Detail, want) || !strings.Contains(errs[0].Detail, "RestartPolicy") {
		t.Errorf("detail = %q", errs[0].Detail)
	}
}

func TestValidateStatusUpdate(t *testing.T) {
	terminated := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	cases := []struct {
		name   string
		policy corev1.RestartPolicy
		old    corev1.PodStatus
		status corev1.PodStatus
		want   []string
	}{
		{"ok", corev1.RestartPolicyAlways, corev1.PodStatus{}, corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.2",
			PodIPs: []corev1.PodIP{{IP: "10.0.0.2"}}, ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: running}}}, []string{}},
		{"bad ips, nominated node and condition", corev1.RestartPolicyAlways, corev1.PodStatus{}, corev1.PodStatus{
			PodIPs: []corev1.PodIP{{IP: "10.0.0.3"}, {IP: "bad"}}, NominatedNodeName: "Bad_Node",
			HostIP: "10.0.0.1", HostIPs: []corev1.HostIP{{IP: "10.0.0.9"}, {IP: "10.0.0.9"}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady}, {Type: "bad type!"}}}, []string{
			"FieldValueInvalid metadata.conditions[1].Type",
			"FieldValueInvalid status.nominatedNodeName",
			"FieldValueInvalid status.podIPs[1]",
			"FieldValueInvalid status.podIPs",
			"FieldValueInvalid status.hostIPs[0].ip",
			"FieldValueInvalid status.hostIPs",
			"FieldValueDuplicate status.hostIPs[1]",
		}},
		{"dual stack ok", corev1.RestartPolicyAlways, corev1.PodStatus{}, corev1.PodStatus{
			PodIPs: []corev1.PodIP{{IP: "10.0.0.3"}, {IP: "fd00::3"}}}, []string{}},
		{"sidecar may restart under Never", corev1.RestartPolicyNever,
			corev1.PodStatus{InitContainerStatuses: []corev1.ContainerStatus{{Name: "side", State: terminated}, {Name: "init", State: terminated}}},
			corev1.PodStatus{InitContainerStatuses: []corev1.ContainerStatus{{Name: "init", State: running}, {Name: "side", State: running}}},
			[]string{"FieldValueForbidden status.initContainerStatuses[1].state"}},
		{"terminated may restart under Always", corev1.RestartPolicyAlways,
			corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: terminated}}},
			corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: running}}}, []string{}},
		{"terminated may not restart under Never", corev1.RestartPolicyNever,
			corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: terminated}}},
			corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: running}}},
			[]string{"FieldValueForbidden status.containerStatuses[0].state"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old := validPod()
			sidecar := container("side", "x")
			sidecar.RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
			old.Spec.InitContainers = []corev1.Container{sidecar, container("init", "x")}
			old.Spec.RestartPolicy = c.policy
			old.Status = c.old
			p := old.DeepCopy()
			p.Status = c.status
			checkErrs(t, ValidateStatusUpdate(p, old), c.want)
		})
	}
}
