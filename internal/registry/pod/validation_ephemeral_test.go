package pod

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ephemeral is an ephemeral container as it looks after defaulting.
func ephemeral(name, image string) corev1.EphemeralContainer {
	return corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon(container(name, image))}
}

// debugPod is validPod with an init container, a volume and one
// ephemeral container already added.
func debugPod() *corev1.Pod {
	p := validPod()
	p.Spec.InitContainers = []corev1.Container{container("init", "busybox")}
	p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	p.Spec.EphemeralContainers = []corev1.EphemeralContainer{ephemeral("dbg", "busybox")}
	return p
}

func TestValidateEphemeralContainers(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(e *corev1.EphemeralContainer)
		want   []string
	}{
		{"valid, with the allowed fields", func(e *corev1.EphemeralContainer) {
			e.TargetContainerName = "app"
			e.Command, e.Args, e.WorkingDir = []string{"sh"}, []string{"-c", "ps"}, "/"
			e.Env = []corev1.EnvVar{{Name: "A", Value: "1"}}
			e.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
			e.SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_PTRACE"}}}
			e.Stdin, e.StdinOnce, e.TTY = true, true, true
		}, []string{}},
		{"target may be an init container", func(e *corev1.EphemeralContainer) { e.TargetContainerName = "init" }, []string{}},
		{"name clashes with a regular container", func(e *corev1.EphemeralContainer) { e.Name = "app" },
			[]string{"FieldValueDuplicate spec.ephemeralContainers[1].name"}},
		{"name clashes with an init container", func(e *corev1.EphemeralContainer) { e.Name = "init" },
			[]string{"FieldValueDuplicate spec.ephemeralContainers[1].name"}},
		{"name clashes with an ephemeral container", func(e *corev1.EphemeralContainer) { e.Name = "dbg" },
			[]string{"FieldValueDuplicate spec.ephemeralContainers[1].name"}},
		{"name not a DNS label", func(e *corev1.EphemeralContainer) { e.Name = "Dbg_2" },
			[]string{"FieldValueInvalid spec.ephemeralContainers[1].name"}},
		{"no name, no image", func(e *corev1.EphemeralContainer) { e.Name, e.Image = "", "" },
			[]string{"FieldValueRequired spec.ephemeralContainers[1].name", "FieldValueRequired spec.ephemeralContainers[1].image"}},
		{"image with whitespace", func(e *corev1.EphemeralContainer) { e.Image = " busybox" },
			[]string{"FieldValueInvalid spec.ephemeralContainers[1].image"}},
		{"target not found", func(e *corev1.EphemeralContainer) { e.TargetContainerName = "dbg" },
			[]string{"FieldValueNotFound spec.ephemeralContainers[1].targetContainerName"}},
		{"fields not allowed", func(e *corev1.EphemeralContainer) {
			e.Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}
			e.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}
			e.ResizePolicy = []corev1.ContainerResizePolicy{{ResourceName: corev1.ResourceCPU, RestartPolicy: corev1.NotRequired}}
			e.RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
			probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}},
				TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3}
			e.LivenessProbe, e.ReadinessProbe, e.StartupProbe = probe, probe, probe
			e.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
		}, []string{
			"FieldValueForbidden spec.ephemeralContainers[1].ports",
			"FieldValueForbidden spec.ephemeralContainers[1].resources",
			"FieldValueForbidden spec.ephemeralContainers[1].resizePolicy",
			"FieldValueForbidden spec.ephemeralContainers[1].restartPolicy",
			"FieldValueForbidden spec.ephemeralContainers[1].livenessProbe",
			"FieldValueForbidden spec.ephemeralContainers[1].readinessProbe",
			"FieldValueForbidden spec.ephemeralContainers[1].startupProbe",
			"FieldValueForbidden spec.ephemeralContainers[1].lifecycle",
		}},
		{"volume mounts: unknown volume, subPath, subPathExpr", func(e *corev1.EphemeralContainer) {
			e.VolumeMounts = []corev1.VolumeMount{{Name: "nope", MountPath: "/a"}, {Name: "data", MountPath: "/b", SubPath: "x"},
				{Name: "data", MountPath: "/c", SubPathExpr: "$(X)"}}
		}, []string{
			"FieldValueNotFound spec.ephemeralContainers[1].volumeMounts[0].name",
			"FieldValueForbidden spec.ephemeralContainers[1].volumeMounts[1].subPath",
			"FieldValueForbidden spec.ephemeralContainers[1].volumeMounts[2].subPathExpr",
		}},
		{"the usual container checks", func(e *corev1.EphemeralContainer) {
			e.Env = []corev1.EnvVar{{Name: ""}}
			e.ImagePullPolicy = "Sometimes"
			e.TerminationMessagePolicy = ""
		}, []string{
			"FieldValueRequired spec.ephemeralContainers[1].terminationMessagePolicy",
			"FieldValueRequired spec.ephemeralContainers[1].env[0].name",
			"FieldValueNotSupported spec.ephemeralContainers[1].imagePullPolicy",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := debugPod()
			e := ephemeral("dbg2", "busybox:1.36")
			c.mutate(&e)
			p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, e)
			checkErrs(t, ValidateSpec(&p.Spec, field.NewPath("spec")), c.want)
		})
	}
}

func TestValidateEphemeralContainerMessages(t *testing.T) {
	p := debugPod()
	e := ephemeral("app", "busybox")
	e.Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}
	e.TargetContainerName = "nope"
	e.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data", SubPath: "x"}}
	p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, e)
	var got []string
	for _, err := range ValidateSpec(&p.Spec, field.NewPath("spec")) {
		got = append(got, err.Error())
	}
	want := []string{
		`spec.ephemeralContainers[1].name: Duplicate value: "app"`,
		`spec.ephemeralContainers[1].targetContainerName: Not found: "nope"`,
		`spec.ephemeralContainers[1].ports: Forbidden: cannot be set for an Ephemeral Container`,
		`spec.ephemeralContainers[1].volumeMounts[0].subPath: Forbidden: cannot be set for an Ephemeral Container`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestValidateEphemeralContainersUpdate(t *testing.T) {
	cases := []struct {
		name   string
		old    func(p *corev1.Pod)
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{"one added", nil, func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, ephemeral("dbg2", "busybox"))
		}, []string{}},
		{"added in front (a patch need not keep the order)", nil, func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = append([]corev1.EphemeralContainer{ephemeral("dbg2", "busybox")}, p.Spec.EphemeralContainers...)
		}, []string{}},
		{"unchanged", nil, func(*corev1.Pod) {}, []string{}},
		{"existing one changed", nil, func(p *corev1.Pod) { p.Spec.EphemeralContainers[0].Image = "alpine" },
			[]string{"FieldValueForbidden spec.ephemeralContainers"}},
		{"existing one removed", nil, func(p *corev1.Pod) { p.Spec.EphemeralContainers = nil },
			[]string{"FieldValueForbidden spec.ephemeralContainers"}},
		{"invalid new one", nil, func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, ephemeral("app", ""))
		}, []string{"FieldValueRequired spec.ephemeralContainers[1].image", "FieldValueDuplicate spec.ephemeralContainers[1].name"}},
		{"static pod", func(p *corev1.Pod) {
			p.Spec.NodeName = "n1"
			p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
		}, func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, ephemeral("dbg2", "busybox"))
		}, []string{"FieldValueForbidden []"}},
		{"uid immutable", nil, func(p *corev1.Pod) { p.UID = "u2" }, []string{"FieldValueInvalid metadata.uid"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old := debugPod()
			if c.old != nil {
				c.old(old)
			}
			p := old.DeepCopy()
			c.mutate(p)
			checkErrs(t, ValidateEphemeralContainersUpdate(p, old), c.want)
		})
	}
}

func TestValidateEphemeralContainersUpdateMessages(t *testing.T) {
	old := debugPod()
	p := old.DeepCopy()
	p.Spec.EphemeralContainers[0].Image = "alpine"
	errs := ValidateEphemeralContainersUpdate(p, old)
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(),
		"spec.ephemeralContainers: Forbidden: existing ephemeral containers \"dbg\" may not be changed\n") ||
		!strings.Contains(errs[0].Detail, `"alpine"`) {
		t.Errorf("changed: %v", errs)
	}
	p.Spec.EphemeralContainers = nil
	errs = ValidateEphemeralContainersUpdate(p, old)
	if len(errs) != 1 || errs[0].Error() != "spec.ephemeralContainers: Forbidden: existing ephemeral containers \"dbg\" may not be removed\n" {
		t.Errorf("removed: %q", errs)
	}
	old.Spec.NodeName = "n1"
	old.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
	p = old.DeepCopy()
	errs = ValidateEphemeralContainersUpdate(p, old)
	if len(errs) != 1 || errs[0].Error() != "[]: Forbidden: static pods do not support ephemeral containers" {
		t.Errorf("static pod: %q", errs)
	}
}

// The pod update itself may carry the ephemeral containers unchanged, but
// neither add, change nor remove one.
func TestValidateUpdateKeepsEphemeralContainers(t *testing.T) {
	old := debugPod()
	same := old.DeepCopy()
	same.Labels = map[string]string{"a": "b"}
	checkErrs(t, ValidateUpdate(same, old), []string{})
	for name, mutate := range map[string]func(p *corev1.Pod){
		"added": func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, ephemeral("dbg2", "busybox"))
		},
		"changed": func(p *corev1.Pod) { p.Spec.EphemeralContainers[0].Image = "alpine" },
		"removed": func(p *corev1.Pod) { p.Spec.EphemeralContainers = nil },
	} {
		p := old.DeepCopy()
		mutate(p)
		errs := ValidateUpdate(p, old)
		checkErrs(t, errs, []string{"FieldValueForbidden spec"})
		if len(errs) == 1 && !strings.HasPrefix(errs[0].Detail, "pod updates may not change fields other than ") {
			t.Errorf("%s: %q", name, errs[0].Detail)
		}
	}
}

func TestPrepareForEphemeralContainersUpdate(t *testing.T) {
	es := NewResource().Strategy.(*Strategy)
	old := validPod()
	old.Generation = 2
	old.Labels = map[string]string{"app": "web"}
	old.Finalizers = []string{"f"}
	old.Status = corev1.PodStatus{Phase: corev1.PodRunning}
	p := old.DeepCopy()
	p.Labels = map[string]string{"app": "other"}
	p.Annotations = map[string]string{"a": "b"}
	p.Finalizers = nil
	p.Generation = 9
	p.Spec.Containers[0].Image = "other"
	p.Spec.NodeName = "sneaky"
	p.Status.Phase = corev1.PodFailed
	dbg := ephemeral("dbg", "busybox")
	dbg.Lifecycle = &corev1.Lifecycle{StopSignal: ptr(corev1.SIGUSR1)}
	p.Spec.EphemeralContainers = []corev1.EphemeralContainer{dbg}
	es.PrepareForEphemeralContainersUpdate(context.Background(), p, old)
	if p.Spec.Containers[0].Image != "busybox:1.36" || p.Spec.NodeName != "" || p.Status.Phase != corev1.PodRunning {
		t.Errorf("spec or status taken from the request: %+v %+v", p.Spec, p.Status)
	}
	if p.Labels["app"] != "web" || p.Annotations != nil || len(p.Finalizers) != 1 {
		t.Errorf("metadata taken from the request: %+v", p.ObjectMeta)
	}
	if len(p.Spec.EphemeralContainers) != 1 || p.Spec.EphemeralContainers[0].Lifecycle != nil {
		t.Errorf("ephemeral containers = %+v", p.Spec.EphemeralContainers)
	}
	if p.Generation != 3 {
		t.Errorf("generation %d, want 3", p.Generation)
	}
	if old.Spec.EphemeralContainers != nil {
		t.Errorf("old pod changed")
	}
	same := old.DeepCopy()
	same.Generation = 9
	es.PrepareForEphemeralContainersUpdate(context.Background(), same, old)
	if same.Generation != 2 {
		t.Errorf("no-op update: generation %d, want 2", same.Generation)
	}
}
