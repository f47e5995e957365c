package admission

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/peapod/peapod/internal/registry/pod"
)

func ptrTo[T any](v T) *T { return &v }

func TestDefaultsPod(t *testing.T) {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox@sha256:abc"}},
			Containers: []corev1.Container{{
				Name: "app", Image: "localhost:5000/web",
				Ports: []corev1.ContainerPort{{ContainerPort: 80}},
				Env:   []corev1.EnvVar{{Name: "N", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
				Resources: corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("64Mi")},
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
				},
				LivenessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000}}, PeriodSeconds: 3},
				Lifecycle:      &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}},
			}, {Name: "pinned", Image: "busybox:1.36", ImagePullPolicy: corev1.PullNever}},
			Volumes: []corev1.Volume{
				{Name: "empty"},
				{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
				{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{DefaultMode: ptrTo(int32(0400))}}},
				{Name: "dapi", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "n", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}}},
				{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}}}},
				{Name: "hp", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp"}}},
			},
		},
	}
	a := &Attributes{Operation: Create, Object: p}
	if err := NewDefaults().Admit(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	s := p.Spec
	if s.RestartPolicy != corev1.RestartPolicyAlways || s.DNSPolicy != corev1.DNSClusterFirst || s.SchedulerName != "default-scheduler" ||
		*s.TerminationGracePeriodSeconds != 30 || s.SecurityContext == nil || !*s.EnableServiceLinks ||
		*s.Priority != 0 || *s.PreemptionPolicy != corev1.PreemptLowerPriority {
		t.Errorf("pod spec defaults: %+v", s)
	}
	init, app, pinned := s.InitContainers[0], s.Containers[0], s.Containers[1]
	if init.ImagePullPolicy != corev1.PullIfNotPresent || app.ImagePullPolicy != corev1.PullAlways || pinned.ImagePullPolicy != corev1.PullNever {
		t.Errorf("pull policies %s %s %s", init.ImagePullPolicy, app.ImagePullPolicy, pinned.ImagePullPolicy)
	}
	if app.TerminationMessagePath != "/dev/termination-log" || app.TerminationMessagePolicy != corev1.TerminationMessageReadFile {
		t.Errorf("termination message: %q %q", app.TerminationMessagePath, app.TerminationMessagePolicy)
	}
	if app.Ports[0].Protocol != corev1.ProtocolTCP || app.Ports[0].HostPort != 0 {
		t.Errorf("port = %+v", app.Ports[0])
	}
	if app.Env[0].ValueFrom.FieldRef.APIVersion != "v1" {
		t.Error("env fieldRef apiVersion not defaulted")
	}
	if q := app.Resources.Requests[corev1.ResourceCPU]; q.String() != "500m" {
		t.Errorf("explicit cpu request changed to %s", q.String())
	}
	if q := app.Resources.Requests[corev1.ResourceMemory]; q.String() != "64Mi" {
		t.Errorf("memory request = %s, want the limit", q.String())
	}
	lp := app.LivenessProbe
	if lp.TimeoutSeconds != 1 || lp.PeriodSeconds != 10 || lp.SuccessThreshold != 1 || lp.FailureThreshold != 3 ||
		lp.HTTPGet.Path != "/" || lp.HTTPGet.Scheme != corev1.URISchemeHTTP {
		t.Errorf("liveness probe = %+v %+v", lp, lp.HTTPGet)
	}
	if rp := app.ReadinessProbe; rp.PeriodSeconds != 3 || rp.GRPC.Service == nil || *rp.GRPC.Service != "" {
		t.Errorf("readiness probe = %+v", rp)
	}
	if h := app.Lifecycle.PreStop.HTTPGet; h.Path != "/" || h.Scheme != corev1.URISchemeHTTP {
		t.Errorf("preStop httpGet = %+v", h)
	}
	v := s.Volumes
	if v[0].EmptyDir == nil {
		t.Error("source-less volume is not emptyDir")
	}
	if *v[1].Secret.DefaultMode != 0644 || *v[2].ConfigMap.DefaultMode != 0400 || *v[3].DownwardAPI.DefaultMode != 0644 ||
		*v[4].Projected.DefaultMode != 0644 {
		t.Error("volume default modes")
	}
	if v[3].DownwardAPI.Items[0].FieldRef.APIVersion != "v1" {
		t.Error("downwardAPI fieldRef apiVersion")
	}
	if *v[4].Projected.Sources[0].ServiceAccountToken.ExpirationSeconds != 3600 {
		t.Error("token expiration")
	}
	if v[5].HostPath.Type == nil || *v[5].HostPath.Type != corev1.HostPathUnset {
		t.Error("hostPath type")
	}

	// Defaulting is idempotent: a second pass (e.g. on update) changes nothing.
	again := p.DeepCopy()
	if err := NewDefaults().Admit(context.Background(), &Attributes{Operation: Update, Object: again}); err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(again, p) {
		t.Error("defaults are not idempotent")
	}
}

func TestDefaultsHostNetworkPorts(t *testing.T) {
	p := &corev1.Pod{Spec: corev1.PodSpec{HostNetwork: true, Containers: []corev1.Container{{Name: "a", Image: "x",
		Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}}}
	DefaultPod(p)
	if p.Spec.Containers[0].Ports[0].HostPort != 8080 {
		t.Errorf("hostPort = %d", p.Spec.Containers[0].Ports[0].HostPort)
	}
}

func TestDefaultsPriority(t *testing.T) {
	cases := []struct {
		class     string
		priority  *int32
		want      int32
		forbidden bool
	}{
		{"", nil, 0, false},
		{"system-node-critical", nil, 2000001000, false},
		{"system-cluster-critical", ptrTo(int32(2000000000)), 2000000000, false},
		{"", ptrTo(int32(5)), 0, true},
		{"gold", nil, 0, true},
	}
	for _, c := range cases {
		p := &corev1.Pod{Spec: corev1.PodSpec{PriorityClassName: c.class, Priority: c.priority}}
		err := NewDefaults().Admit(context.Background(), &Attributes{Operation: Create, Object: p})
		if c.forbidden {
			if !apierrors.IsForbidden(err) {
				t.Errorf("class %q priority %v: err %v, want Forbidden", c.class, c.priority, err)
			}
			continue
		}
		if err != nil || *p.Spec.Priority != c.want {
			t.Errorf("class %q: priority %v err %v", c.class, p.Spec.Priority, err)
		}
	}
	// Status updates and updates leave priority alone.
	p := &corev1.Pod{Spec: corev1.PodSpec{PriorityClassName: "gold"}}
	if err := NewDefaults().Admit(context.Background(), &Attributes{Operation: Update, Object: p}); err != nil || p.Spec.Priority != nil {
		t.Errorf("update: err %v priority %v", err, p.Spec.Priority)
	}
}

func TestDefaultsOtherKinds(t *testing.T) {
	d := NewDefaults()
	admit := func(op Operation, o runtime.Object) {
		t.Helper()
		if err := d.Admit(context.Background(), &Attributes{Operation: op, Object: o}); err != nil {
			t.Fatal(err)
		}
	}
	s := &corev1.Secret{}
	admit(Create, s)
	if s.Type != corev1.SecretTypeOpaque {
		t.Errorf("secret type = %q", s.Type)
	}
	tls := &corev1.Secret{Type: corev1.SecretTypeTLS}
	admit(Update, tls)
	if tls.Type != corev1.SecretTypeTLS {
		t.Errorf("explicit secret type changed to %q", tls.Type)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}
	admit(Create, ns)
	if ns.Status.Phase != corev1.NamespaceActive || ns.Labels[corev1.LabelMetadataName] != "team" {
		t.Errorf("namespace = %+v", ns)
	}
	n := &corev1.Node{Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}}
	admit(Create, n)
	if q := n.Status.Allocatable[corev1.ResourceCPU]; q.String() != "2" {
		t.Errorf("allocatable = %v", n.Status.Allocatable)
	}
	sa := &corev1.ServiceAccount{}
	admit(Create, sa)
	if !equality.Semantic.DeepEqual(sa, &corev1.ServiceAccount{}) {
		t.Errorf("serviceaccount changed: %+v", sa)
	}
	// Deletes are not defaulted.
	del := &corev1.Secret{}
	admit(Delete, del)
	if del.Type != "" {
		t.Error("delete was defaulted")
	}
}

func TestImageTag(t *testing.T) {
	cases := map[string]string{
		"busybox":                      "latest",
		"busybox:1.36":                 "1.36",
		"busybox:latest":               "latest",
		"localhost:5000/busybox":       "latest",
		"localhost:5000/busybox:v2":    "v2",
		"busybox@sha256:abcd":          "",
		"busybox:latest@sha256:abcd":   "latest",
		"registry.k8s.io/pause:3.10":   "3.10",
		"docker.io/library/nginx:1.27": "1.27",
	}
	for image, want := range cases {
		if got := ImageTag(image); got != want {
			t.Errorf("ImageTag(%q) = %q, want %q", image, got, want)
		}
	}
}

// TestDefaultedPodsValidate checks defaults against validation: minimal
// pods as users write them must validate once defaulted, as they do
// against kube-apiserver.
func TestDefaultedPodsValidate(t *testing.T) {
	base := func() *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}}}}
	}
	cases := map[string]func(p *corev1.Pod){
		"minimal": func(*corev1.Pod) {},
		"ports, probes and hooks without defaults": func(p *corev1.Pod) {
			c := &p.Spec.Containers[0]
			c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 80}}
			c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("http")}}}
			c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}}
			c.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000}}}
			c.Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}}
		},
		"volumes without defaults": func(p *corev1.Pod) {
			p.Spec.ServiceAccountName = "default"
			p.Spec.Volumes = []corev1.Volume{
				{Name: "empty"},
				{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
				{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}},
				{Name: "dapi", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}}},
				{Name: "tok", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}}}},
				{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp"}}},
			}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "empty", MountPath: "/e"}, {Name: "tok", MountPath: "/var/run/secrets/tok"}}
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}}
		},
		// (Sidecar init containers are refused by validation: peapod does
		// not run them yet.)
		"limits only, init container, probed second container, host network": func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
			p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), "example.com/gpu": resource.MustParse("1")}
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox:1.36"}}
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "side", Image: "busybox",
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}})
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			p := base()
			mutate(p)
			if err := NewDefaults().Admit(context.Background(), &Attributes{Operation: Create, Object: p}); err != nil {
				t.Fatal(err)
			}
			if errs := pod.Validate(p); len(errs) != 0 {
				t.Errorf("defaulted pod does not validate: %v", errs)
			}
		})
	}
}
