package pod

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestValidateValidPods(t *testing.T) {
	p := validPod()
	p.Spec.InitContainers = []corev1.Container{container("init", "busybox")}
	c := &p.Spec.Containers[0]
	c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP}}
	c.Env = []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "POD", ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels['app']"}}}}
	c.EnvFrom = []corev1.EnvFromSource{{Prefix: "X_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}}}}
	c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("http"), Scheme: corev1.URISchemeHTTP}},
		PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3, TerminationGracePeriodSeconds: ptr(int64(5))}
	c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 2}}}
	c.Resources = corev1.ResourceRequirements{
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
	}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "cfg", MountPath: "/etc/cfg", SubPath: "a/b"}}
	p.Spec.Volumes = []corev1.Volume{
		{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "cfg", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{DefaultMode: ptr(int32(0644)),
			Sources: []corev1.VolumeProjection{
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "c"},
					Items: []corev1.KeyToPath{{Key: "k", Path: "dir/k"}}}},
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr(int64(3600))}},
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels"}}}}},
			}}}},
	}
	p.Spec.HostAliases = []corev1.HostAlias{{IP: "10.0.0.1", Hostnames: []string{"db.local"}}}
	p.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": "n1"}
	p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}, {Key: "k", Value: "v", Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(5))}}
	p.Spec.ActiveDeadlineSeconds = ptr(int64(60))
	p.Spec.Hostname, p.Spec.Subdomain = "web-0", "svc"
	p.Spec.ServiceAccountName = "default"
	checkErrs(t, Validate(p), []string{})
}

func TestValidateInvalidPods(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{"no containers", func(p *corev1.Pod) { p.Spec.Containers = nil },
			[]string{"FieldValueRequired spec.containers"}},
		{"bad metadata and many spec errors at once", func(p *corev1.Pod) {
			p.Name = "Web"
			p.Spec.RestartPolicy = "Sometimes"
			p.Spec.DNSPolicy = ""
			p.Spec.Containers[0].Image = ""
			p.Spec.Containers[0].ImagePullPolicy = "Maybe"
		}, []string{
			"FieldValueInvalid metadata.name",
			"FieldValueRequired spec.containers[0].image",
			"FieldValueNotSupported spec.containers[0].imagePullPolicy",
			"FieldValueNotSupported spec.restartPolicy",
			"FieldValueRequired spec.dnsPolicy",
		}},
		{"duplicate and invalid container names across init and regular", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{container("app", "x"), container("Bad_Name", "x")}
			p.Spec.Containers = append(p.Spec.Containers, container("", "x"))
		}, []string{
			"FieldValueRequired spec.containers[1].name",
			"FieldValueDuplicate spec.initContainers[0].name",
			"FieldValueInvalid spec.initContainers[1].name",
		}},
		{"ports", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{
				{Name: "http", ContainerPort: 80, Protocol: "TCP"},
				{Name: "http", ContainerPort: 70000, Protocol: "ICMP"},
				{Name: "this-name-is-too-long", HostPort: -1, Protocol: ""},
			}
		}, []string{
			"FieldValueDuplicate spec.containers[0].ports[1].name",
			"FieldValueInvalid spec.containers[0].ports[1].containerPort",
			"FieldValueNotSupported spec.containers[0].ports[1].protocol",
			"FieldValueInvalid spec.containers[0].ports[2].name",
			"FieldValueRequired spec.containers[0].ports[2].containerPort",
			"FieldValueInvalid spec.containers[0].ports[2].hostPort",
			"FieldValueRequired spec.containers[0].ports[2].protocol",
		}},
		{"env and envFrom", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{
				{Name: "1BAD"},
				{Name: "A", Value: "x", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}},
				{Name: "B", ValueFrom: &corev1.EnvVarSource{}},
				{Name: "C", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "status.phase"}}},
				{Name: "D", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}},
			}
			p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{Prefix: "1"}}
		}, []string{
			"FieldValueInvalid spec.containers[0].env[0].name",
			"FieldValueInvalid spec.containers[0].env[1].valueFrom",
			"FieldValueInvalid spec.containers[0].env[2].valueFrom",
			"FieldValueNotSupported spec.containers[0].env[3].valueFrom.fieldRef.fieldPath",
			"FieldValueRequired spec.containers[0].env[4].valueFrom.configMapKeyRef.key",
			"FieldValueInvalid spec.containers[0].envFrom[0].prefix",
			"FieldValueInvalid spec.containers[0].envFrom",
		}},
		{"env name, resourceFieldRef divisor, envFrom prefix-mode name", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{
				{Name: ""},
				{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu", Divisor: resource.MustParse("2")}}},
				{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
				{Name: "GPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.gpu"}}},
			}
			p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg-"}}}}
		}, []string{
			"FieldValueRequired spec.containers[0].env[0].name",
			"FieldValueInvalid spec.containers[0].env[1].valueFrom.resourceFieldRef.divisor",
			"FieldValueNotSupported spec.containers[0].env[3].valueFrom.resourceFieldRef.resource",
		}},
		{"fieldRef paths", func(p *corev1.Pod) {
			ref := func(path string) *corev1.EnvVarSource {
				return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: path}}
			}
			p.Spec.Containers[0].Env = []corev1.EnvVar{
				{Name: "A", ValueFrom: ref("spec.hostname")},
				{Name: "B", ValueFrom: ref("spec.nodeName['x']")},
				{Name: "C", ValueFrom: ref("metadata.labels['bad key!']")},
				{Name: "D", ValueFrom: ref("spec.host")},
				{Name: "E", ValueFrom: ref("metadata.annotations['Example.com/A']")},
				{Name: "F", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v2", FieldPath: "metadata.name"}}},
			}
		}, []string{
			"FieldValueInvalid spec.containers[0].env[0].valueFrom.fieldRef.fieldPath",
			"FieldValueInvalid spec.containers[0].env[1].valueFrom.fieldRef.fieldPath",
			"FieldValueInvalid spec.containers[0].env[2].valueFrom.fieldRef",
			"FieldValueInvalid spec.containers[0].env[5].valueFrom.fieldRef.fieldPath",
		}},
		{"volumes", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "a", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "a", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "two", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}, Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
				{Name: "none"},
				{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{DefaultMode: ptr(int32(01000)),
					Items: []corev1.KeyToPath{{Key: "k", Path: "/abs"}, {Key: "k", Path: "a/../b"}, {Key: "", Path: "..data", Mode: ptr(int32(-1))}}}}},
				{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
				{Name: "dapi", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "x", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.nodeName"}}}}}},
				{Name: "hp", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/a/../etc", Type: ptr(corev1.HostPathType("Weird"))}}},
			}
		}, []string{
			"FieldValueDuplicate spec.volumes[1].name",
			"FieldValueForbidden spec.volumes[2].secret",
			"FieldValueRequired spec.volumes[3]",
			"FieldValueRequired spec.volumes[4].secret.secretName",
			"FieldValueInvalid spec.volumes[4].secret.defaultMode",
			"FieldValueInvalid spec.volumes[4].secret.items[0].path",
			"FieldValueInvalid spec.volumes[4].secret.items[1].path",
			"FieldValueRequired spec.volumes[4].secret.items[2].key",
			"FieldValueInvalid spec.volumes[4].secret.items[2].path",
			"FieldValueInvalid spec.volumes[4].secret.items[2].mode",
			"FieldValueRequired spec.volumes[5].configMap.name",
			"FieldValueNotSupported spec.volumes[6].downwardAPI.fieldRef.fieldPath",
			"FieldValueInvalid spec.volumes[7].hostPath.path",
			"FieldValueNotSupported spec.volumes[7].hostPath.type",
		}},
		{"volume mounts", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
				{Name: "v", MountPath: "/a"},
				{Name: "missing", MountPath: "/a"},
				{Name: "v", MountPath: "rel", SubPath: "../x"},
				{Name: "v", MountPath: ""},
			}
		}, []string{
			"FieldValueNotFound spec.containers[0].volumeMounts[1].name",
			"FieldValueInvalid spec.containers[0].volumeMounts[1].mountPath",
			"FieldValueInvalid spec.containers[0].volumeMounts[2].mountPath",
			"FieldValueInvalid spec.containers[0].volumeMounts.subPath",
			"FieldValueRequired spec.containers[0].volumeMounts[3].mountPath",
		}},
		{"probes and hooks", func(p *corev1.Pod) {
			c := &p.Spec.Containers[0]
			c.LivenessProbe = &corev1.Probe{SuccessThreshold: 2, PeriodSeconds: -1}
			c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
				Exec: &corev1.ExecAction{Command: []string{"true"}}, TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}},
				SuccessThreshold: 1, TerminationGracePeriodSeconds: ptr(int64(3))}
			c.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Port: intstr.FromInt32(0), Scheme: "FTP"}}, SuccessThreshold: 3}
			c.Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{}, PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{}}}
		}, []string{
			"FieldValueRequired spec.containers[0].lifecycle.postStart",
			"FieldValueRequired spec.containers[0].lifecycle.preStop.exec.command",
			"FieldValueRequired spec.containers[0].livenessProbe",
			"FieldValueInvalid spec.containers[0].livenessProbe.periodSeconds",
			"FieldValueInvalid spec.containers[0].livenessProbe.successThreshold",
			"FieldValueForbidden spec.containers[0].readinessProbe.tcpSocket",
			"FieldValueInvalid spec.containers[0].readinessProbe.terminationGracePeriodSeconds",
			"FieldValueRequired spec.containers[0].startupProbe.httpGet.path",
			"FieldValueInvalid spec.containers[0].startupProbe.httpGet.port",
			"FieldValueNotSupported spec.containers[0].startupProbe.httpGet.scheme",
			"FieldValueInvalid spec.containers[0].startupProbe.successThreshold",
		}},
		{"init container probes forbidden", func(p *corev1.Pod) {
			ic := container("init", "busybox")
			ic.ReadinessProbe = &corev1.Probe{}
			ic.LivenessProbe = &corev1.Probe{}
			ic.StartupProbe = &corev1.Probe{}
			ic.Lifecycle = &corev1.Lifecycle{}
			ic2 := container("init2", "busybox")
			ic2.RestartPolicy = ptr(corev1.ContainerRestartPolicy("Never"))
			p.Spec.InitContainers = []corev1.Container{ic, ic2}
			p.Spec.Containers[0].RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
		}, []string{
			"FieldValueForbidden spec.containers[0].restartPolicy",
			"FieldValueForbidden spec.initContainers[0].lifecycle",
			"FieldValueForbidden spec.initContainers[0].livenessProbe",
			"FieldValueForbidden spec.initContainers[0].readinessProbe",
			"FieldValueForbidden spec.initContainers[0].startupProbe",
			"FieldValueNotSupported spec.initContainers[1].restartPolicy",
		}},
		{"sidecars may have probes (readiness with successThreshold 2) and hooks", func(p *corev1.Pod) {
			sidecar := container("side", "busybox")
			sidecar.RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
			sidecar.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}},
				PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 2, FailureThreshold: 3}
			p.Spec.InitContainers = []corev1.Container{container("init", "busybox"), sidecar}
		}, nil},
		{"resources", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), "example.com/gpu": resource.MustParse("1")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("-1"),
					"example.com/gpu": resource.MustParse("2")},
			}
		}, []string{
			"FieldValueInvalid spec.containers[0].resources.requests",
			"FieldValueInvalid spec.containers[0].resources.requests",
			"FieldValueInvalid spec.containers[0].resources.requests[memory]",
		}},
		{"pod annotations", func(p *corev1.Pod) {
			p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x", "controller.kubernetes.io/pod-deletion-cost": "1e9"}
		}, []string{
			"FieldValueInvalid metadata.annotations[kubernetes.io/config.mirror]",
			"FieldValueInvalid metadata.annotations[controller.kubernetes.io/pod-deletion-cost]",
		}},
		{"hugepages need cpu or memory", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{"hugepages-2Mi": resource.MustParse("4Mi")}
		}, []string{"FieldValueForbidden spec.containers[0].resources"}},
		{"pod-level fields", func(p *corev1.Pod) {
			p.Spec.ActiveDeadlineSeconds = ptr(int64(0))
			p.Spec.Hostname = "a.b"
			p.Spec.Subdomain = "Sub"
			p.Spec.NodeSelector = map[string]string{"bad key!": "v"}
			p.Spec.HostAliases = []corev1.HostAlias{{IP: "not-an-ip", Hostnames: []string{"Bad_Host"}}}
			p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpEqual, Value: "v"},
				{Key: "k", Operator: "Like"}, {Key: "k", Effect: corev1.TaintEffectNoSchedule, TolerationSeconds: ptr(int64(1))}}
			p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr(int64(-1))}
			p.Spec.NodeName = "Node_1"
		}, []string{
			"FieldValueInvalid spec.nodeSelector",
			"FieldValueInvalid spec.securityContext.runAsUser",
			"FieldValueInvalid spec.nodeName",
			"FieldValueInvalid spec.activeDeadlineSeconds",
			"FieldValueInvalid spec.hostname",
			"FieldValueInvalid spec.subdomain",
			"FieldValueInvalid spec.tolerations[0].operator",
			"FieldValueNotSupported spec.tolerations[1].operator",
			"FieldValueInvalid spec.tolerations[2].effect",
			"FieldValueInvalid spec.hostAliases[0].ip",
			"FieldValueInvalid spec.hostAliases[0].hostnames[0]",
		}},
		{"security contexts", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.HostPID = true
			p.Spec.ShareProcessNamespace = ptr(true)
			p.Spec.SecurityContext = &corev1.PodSecurityContext{
				FSGroup:        ptr(int64(-2)),
				Sysctls:        []corev1.Sysctl{{Name: "net.core.somaxconn", Value: "1"}, {Name: "Bad!"}, {Name: "kernel.shm_rmid_forced"}, {Name: "kernel.shm_rmid_forced"}},
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost},
			}
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr(false), Privileged: ptr(true),
				ProcMount:       ptr(corev1.UnmaskedProcMount),
				AppArmorProfile: &corev1.AppArmorProfile{Type: "Weird"},
			}
		}, []string{
			"FieldValueInvalid spec.containers[0].securityContext.procMount",
			"FieldValueInvalid spec.containers[0].securityContext",
			"FieldValueNotSupported spec.containers[0].securityContext.appArmorProfile.type",
			"FieldValueInvalid spec.securityContext.fsGroup",
			"FieldValueInvalid spec.securityContext.shareProcessNamespace",
			"FieldValueInvalid spec.securityContext.sysctls[0].name",
			"FieldValueInvalid spec.securityContext.sysctls[1].name",
			"FieldValueDuplicate spec.securityContext.sysctls[3].name",
			"FieldValueRequired spec.securityContext.seccompProfile.localhostProfile",
		}},
		{"affinity", func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{
				NodeAffinity: &corev1.NodeAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
						MatchExpressions: []corev1.NodeSelectorRequirement{
							{Key: "zone", Operator: corev1.NodeSelectorOpIn},
							{Key: "disk", Operator: corev1.NodeSelectorOpExists, Values: []string{"x"}},
							{Key: "bad key!", Operator: "Near"},
						},
						MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"node1"}},
							{Key: "spec.nodeName", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}},
					}}},
					PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 0}},
				},
				PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{}}},
			}
		}, []string{
			"FieldValueRequired spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values",
			"FieldValueForbidden spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[1].values",
			"FieldValueInvalid spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[2].operator",
			"FieldValueInvalid spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[2].key",
			"FieldValueInvalid spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[1].key",
			"FieldValueInvalid spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
			"FieldValueRequired spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
			// "" also fails both label-name checks, as upstream
			"FieldValueInvalid spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
			"FieldValueInvalid spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
		}},
		{"topology spread", func(p *corev1.Pod) {
			p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{
				{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: corev1.DoNotSchedule},
				{MaxSkew: 0, TopologyKey: "zone", WhenUnsatisfiable: corev1.DoNotSchedule},
				{MaxSkew: 1, WhenUnsatisfiable: "Maybe", MinDomains: ptr(int32(0))},
			}
		}, []string{
			"FieldValueDuplicate spec.topologySpreadConstraints[0].{topologyKey, whenUnsatisfiable}",
			"FieldValueInvalid spec.topologySpreadConstraints[1].maxSkew",
			"FieldValueRequired spec.topologySpreadConstraints[2].topologyKey",
			"FieldValueNotSupported spec.topologySpreadConstraints[2].whenUnsatisfiable",
			"FieldValueInvalid spec.topologySpreadConstraints[2].minDomains",
			"FieldValueInvalid spec.topologySpreadConstraints[2].minDomains",
		}},
		{"dnsPolicy None needs dnsConfig", func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone },
			[]string{"FieldValueRequired spec.dnsConfig"}},
		{"hostNetwork ports must match", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080, Protocol: "TCP"}}
		}, []string{"FieldValueInvalid spec.containers[0].ports[0].hostPort"}},
		{"hostPort conflicts", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080, Protocol: "TCP"}}
			second := container("b", "x")
			second.Ports = []corev1.ContainerPort{{ContainerPort: 81, HostPort: 8080, Protocol: "TCP"}, {ContainerPort: 82, HostPort: 8080, Protocol: "UDP"}}
			p.Spec.Containers = append(p.Spec.Containers, second)
		}, []string{"FieldValueDuplicate spec.containers[1].ports[0].hostPort"}},
		{"token projection needs a service account; sleep within grace; whitespace image", func(p *corev1.Pod) {
			p.Spec.ServiceAccountName = ""
			p.Spec.Volumes = []corev1.Volume{{Name: "tok", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr(int64(3600))}}}}}}}
			p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 31}}}
			p.Spec.Containers[0].Image = " busybox"
		}, []string{
			"FieldValueInvalid spec.containers[0].lifecycle.preStop.sleep",
			"FieldValueForbidden spec.volumes[0].projected.sources[0].serviceAccountToken",
			"FieldValueInvalid spec.containers[0].image",
		}},
		{"projected sources", func(p *corev1.Pod) {
			p.Spec.ServiceAccountName = "default"
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "../token", ExpirationSeconds: ptr(int64(60))}},
					{Secret: &corev1.SecretProjection{Items: []corev1.KeyToPath{{Key: "a", Path: "x"}}},
						ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}, Items: []corev1.KeyToPath{{Key: "b", Path: "x"}}}},
				}}}}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "v", MountPath: "/v", RecursiveReadOnly: ptr(corev1.RecursiveReadOnlyEnabled)}}
		}, []string{
			"FieldValueInvalid spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds",
			"FieldValueInvalid spec.volumes[0].projected.path",
			"FieldValueRequired spec.volumes[0].projected.sources[1].secret.name",
			"FieldValueInvalid spec.volumes[0].projected",
			"FieldValueForbidden spec.volumes[0].projected.sources[1]",
			// an invalid volume is not mountable, as upstream
			"FieldValueNotFound spec.containers[0].volumeMounts[0].name",
			"FieldValueForbidden spec.containers[0].volumeMounts.recursiveReadOnly",
		}},
		{"missing grace and scheduling gates", func(p *corev1.Pod) {
			p.Spec.TerminationGracePeriodSeconds = nil
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "a"}, {Name: "a"}, {Name: "bad gate"}}
		}, []string{
			"FieldValueRequired spec.terminationGracePeriodSeconds",
			"FieldValueDuplicate spec.schedulingGates[1]",
			"FieldValueInvalid spec.schedulingGates[2]",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := validPod()
			c.mutate(p)
			checkErrs(t, Validate(p), c.want)
		})
	}
}
