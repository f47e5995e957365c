package admit

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func rl(kv ...string) v1.ResourceList {
	l := v1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[v1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

func pod(name string, requests ...string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec: v1.PodSpec{Containers: []v1.Container{{
			Name: "c", Resources: v1.ResourceRequirements{Requests: rl(requests...)},
		}}},
	}
}

func with(p *v1.Pod, mut func(*v1.Pod)) *v1.Pod {
	mut(p)
	return p
}

func node(mut func(*Node)) Node {
	n := Node{
		Name:        "n1",
		Allocatable: rl("cpu", "2", "memory", "1Gi", "ephemeral-storage", "10Gi", "pods", "110"),
		Labels:      map[string]string{"kubernetes.io/hostname": "n1", "kubernetes.io/os": "linux", "disktype": "ssd"},
	}
	if mut != nil {
		mut(&n)
	}
	return n
}

func TestPod(t *testing.T) {
	noExec := v1.Taint{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoExecute}
	tests := []struct {
		name     string
		node     Node
		admitted []*v1.Pod
		pod      *v1.Pod
		want     Verdict
	}{{
		name: "fits an empty node",
		node: node(nil),
		pod:  pod("a", "cpu", "1", "memory", "512Mi"),
		want: Verdict{Admit: true},
	}, {
		name: "no requests always fit the resources",
		node: node(nil), admitted: []*v1.Pod{pod("big", "cpu", "2", "memory", "1Gi")},
		pod:  pod("a"),
		want: Verdict{Admit: true},
	}, {
		name:     "cpu: requested, used and capacity in millicores",
		node:     node(nil),
		admitted: []*v1.Pod{pod("x", "cpu", "500m")},
		pod:      pod("a", "cpu", "4"),
		want:     Verdict{Reason: "OutOfcpu", Message: "Node didn't have enough resource: cpu, requested: 4000, used: 500, capacity: 2000"},
	}, {
		name:     "exactly the rest fits",
		node:     node(nil),
		admitted: []*v1.Pod{pod("x", "cpu", "500m"), pod("y", "cpu", "500m")},
		pod:      pod("a", "cpu", "1"),
		want:     Verdict{Admit: true},
	}, {
		name:     "memory in bytes",
		node:     node(nil),
		admitted: []*v1.Pod{pod("x", "memory", "768Mi")},
		pod:      pod("a", "memory", "512Mi"),
		want:     Verdict{Reason: "OutOfmemory", Message: "Node didn't have enough resource: memory, requested: 536870912, used: 805306368, capacity: 1073741824"},
	}, {
		name: "ephemeral storage",
		node: node(nil),
		pod:  pod("a", "ephemeral-storage", "20Gi"),
		want: Verdict{Reason: "OutOfephemeral-storage", Message: "Node didn't have enough resource: ephemeral-storage, requested: 21474836480, used: 0, capacity: 10737418240"},
	}, {
		name:     "pods count comes first",
		node:     node(func(n *Node) { n.Allocatable = rl("cpu", "2", "memory", "1Gi", "pods", "2") }),
		admitted: []*v1.Pod{pod("x"), pod("y")},
		pod:      pod("a", "cpu", "4"),
		want:     Verdict{Reason: "OutOfpods", Message: "Node didn't have enough resource: pods, requested: 1, used: 2, capacity: 2"},
	}, {
		name: "cpu before memory",
		node: node(nil),
		pod:  pod("a", "cpu", "3", "memory", "2Gi"),
		want: Verdict{Reason: "OutOfcpu", Message: "Node didn't have enough resource: cpu, requested: 3000, used: 0, capacity: 2000"},
	}, {
		name: "an extended resource the node does not offer is ignored",
		node: node(nil),
		pod:  pod("a", "example.com/gpu", "1"),
		want: Verdict{Admit: true},
	}, {
		name: "hugepages the node does not have",
		node: node(nil),
		pod:  pod("a", "hugepages-2Mi", "4Mi", "memory", "4Mi"),
		want: Verdict{Reason: "OutOfhugepages-2Mi", Message: "Node didn't have enough resource: hugepages-2Mi, requested: 4194304, used: 0, capacity: 0"},
	}, {
		name: "init containers count by the largest",
		node: node(nil),
		pod: with(pod("a", "cpu", "500m"), func(p *v1.Pod) {
			p.Spec.InitContainers = []v1.Container{{Name: "i", Resources: v1.ResourceRequirements{Requests: rl("cpu", "3")}}}
		}),
		want: Verdict{Reason: "OutOfcpu", Message: "Node didn't have enough resource: cpu, requested: 3000, used: 0, capacity: 2000"},
	}, {
		name: "nodeSelector matches",
		node: node(nil),
		pod:  with(pod("a"), func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"disktype": "ssd"} }),
		want: Verdict{Admit: true},
	}, {
		name: "nodeSelector does not match",
		node: node(nil),
		pod:  with(pod("a"), func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"disktype": "hdd"} }),
		want: Verdict{Reason: "NodeAffinity", Message: "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"},
	}, {
		name: "required node affinity does not match",
		node: node(nil),
		pod: with(pod("a"), func(p *v1.Pod) {
			p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
				NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "zone", Operator: v1.NodeSelectorOpExists}}}},
			}}}
		}),
		want: Verdict{Reason: "NodeAffinity", Message: "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"},
	}, {
		name: "resources before node affinity",
		node: node(nil),
		pod:  with(pod("a", "cpu", "8"), func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"disktype": "hdd"} }),
		want: Verdict{Reason: "OutOfcpu", Message: "Node didn't have enough resource: cpu, requested: 8000, used: 0, capacity: 2000"},
	}, {
		name: "host port taken",
		node: node(nil),
		admitted: []*v1.Pod{with(pod("x"), func(p *v1.Pod) {
			p.Spec.Containers[0].Ports = []v1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
		})},
		pod: with(pod("a"), func(p *v1.Pod) {
			p.Spec.Containers[0].Ports = []v1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
		}),
		want: Verdict{Reason: "NodePorts", Message: "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports"},
	}, {
		name: "untolerated NoExecute taint",
		node: node(func(n *Node) { n.Taints = []v1.Taint{noExec} }),
		pod:  pod("a"),
		want: Verdict{Reason: "TaintToleration", Message: "Predicate TaintToleration failed: node(s) had taints that the pod didn't tolerate"},
	}, {
		name: "tolerated NoExecute taint",
		node: node(func(n *Node) { n.Taints = []v1.Taint{noExec} }),
		pod: with(pod("a"), func(p *v1.Pod) {
			p.Spec.Tolerations = []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "db", Effect: v1.TaintEffectNoExecute}}
		}),
		want: Verdict{Admit: true},
	}, {
		name: "NoSchedule taints are the scheduler's business",
		node: node(func(n *Node) { n.Taints = []v1.Taint{{Key: "dedicated", Effect: v1.TaintEffectNoSchedule}} }),
		pod:  pod("a"),
		want: Verdict{Admit: true},
	}, {
		name: "static pods ignore taints",
		node: node(func(n *Node) { n.Taints = []v1.Taint{noExec} }),
		pod: with(pod("a"), func(p *v1.Pod) {
			p.Annotations = map[string]string{"kubernetes.io/config.source": "file"}
		}),
		want: Verdict{Admit: true},
	}, {
		name: "static pods are held to the resources",
		node: node(nil),
		pod: with(pod("a", "memory", "2Gi"), func(p *v1.Pod) {
			p.Annotations = map[string]string{"kubernetes.io/config.source": "file"}
		}),
		want: Verdict{Reason: "OutOfmemory", Message: "Node didn't have enough resource: memory, requested: 2147483648, used: 0, capacity: 1073741824"},
	}, {
		name: "memory pressure rejects BestEffort pods",
		node: node(func(n *Node) { n.Pressure = []v1.NodeConditionType{v1.NodeMemoryPressure} }),
		pod:  pod("a"),
		want: Verdict{Reason: "Evicted", Message: "The node had condition: [MemoryPressure]. "},
	}, {
		name: "memory pressure admits Burstable pods",
		node: node(func(n *Node) { n.Pressure = []v1.NodeConditionType{v1.NodeMemoryPressure} }),
		pod:  pod("a", "cpu", "100m"),
		want: Verdict{Admit: true},
	}, {
		name: "memory pressure admits BestEffort pods tolerating its taint",
		node: node(func(n *Node) { n.Pressure = []v1.NodeConditionType{v1.NodeMemoryPressure} }),
		pod: with(pod("a"), func(p *v1.Pod) {
			p.Spec.Tolerations = []v1.Toleration{{Key: "node.kubernetes.io/memory-pressure", Operator: v1.TolerationOpExists}}
		}),
		want: Verdict{Admit: true},
	}, {
		name: "disk pressure rejects every pod",
		node: node(func(n *Node) { n.Pressure = []v1.NodeConditionType{v1.NodeMemoryPressure, v1.NodeDiskPressure} }),
		pod:  pod("a", "cpu", "100m"),
		want: Verdict{Reason: "Evicted", Message: "The node had condition: [MemoryPressure DiskPressure]. "},
	}, {
		name: "static pods are admitted under pressure",
		node: node(func(n *Node) { n.Pressure = []v1.NodeConditionType{v1.NodeDiskPressure} }),
		pod: with(pod("a"), func(p *v1.Pod) {
			p.Annotations = map[string]string{"kubernetes.io/config.source": "file"}
		}),
		want: Verdict{Admit: true},
	}, {
		name: "OS label",
		node: node(nil),
		pod:  with(pod("a"), func(p *v1.Pod) { p.Labels = map[string]string{"kubernetes.io/os": "windows"} }),
		want: Verdict{Reason: "PodOSSelectorNodeLabelDoesNotMatch", Message: "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label"},
	}, {
		name: "OS field",
		node: node(nil),
		pod:  with(pod("a"), func(p *v1.Pod) { p.Spec.OS = &v1.PodOS{Name: v1.Windows} }),
		want: Verdict{Reason: "PodOSNotSupported", Message: "Failed to admit pod as the OS field doesn't match node OS"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Pod(tt.node, tt.admitted, tt.pod); got != tt.want {
				t.Errorf("Pod() = %+v\nwant    %+v", got, tt.want)
			}
		})
	}
}
