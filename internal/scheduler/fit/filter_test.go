package fit

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

type filterCase struct {
	name string
	pod  *corev1.Pod
	node *corev1.Node
	// pods already on the node
	onNode []*corev1.Pod
	want   Status
}

func runFilterCases(t *testing.T, f func(*Pod, *Node) Status, cases []filterCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			n := NewNode(tt.node)
			for _, p := range tt.onNode {
				n.AddPod(NewPod(p))
			}
			got := f(NewPod(tt.pod), n)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

var (
	fits          = Status{}
	unschedulable = Status{Reasons: []string{ReasonUnschedulable}, Unresolvable: true}
	noMatch       = Status{Reasons: []string{ReasonNodeSelector}, Unresolvable: true}
)

func taint(key, value string, effect corev1.TaintEffect) corev1.Taint {
	return corev1.Taint{Key: key, Value: value, Effect: effect}
}

func TestUnschedulable(t *testing.T) {
	cordoned := readyNode("n", func(n *corev1.Node) { n.Spec.Unschedulable = true })
	runFilterCases(t, Unschedulable, []filterCase{
		{name: "schedulable", pod: podWith(nil), node: readyNode("n", nil), want: fits},
		{name: "cordoned", pod: podWith(nil), node: cordoned, want: unschedulable},
		{name: "cordoned, tolerated by key and effect", node: cordoned, want: fits, pod: podWith(func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
		})},
		{name: "cordoned, tolerate everything", node: cordoned, want: fits, pod: podWith(func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
		})},
		{name: "cordoned, toleration for NoExecute only", node: cordoned, want: unschedulable, pod: podWith(func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}
		})},
	})
}

func TestTaints(t *testing.T) {
	tainted := func(ts ...corev1.Taint) *corev1.Node {
		return readyNode("n", func(n *corev1.Node) { n.Spec.Taints = ts })
	}
	tol := func(ts ...corev1.Toleration) *corev1.Pod {
		return podWith(func(p *corev1.Pod) { p.Spec.Tolerations = ts })
	}
	untolerated := func(k, v string) Status {
		return Status{Reasons: []string{"node(s) had untolerated taint {" + k + ": " + v + "}"}, Unresolvable: true}
	}
	runFilterCases(t, Taints, []filterCase{
		{name: "no taints", pod: podWith(nil), node: readyNode("n", nil), want: fits},
		{name: "NoSchedule untolerated", pod: podWith(nil), node: tainted(taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)), want: untolerated("dedicated", "gpu")},
		{name: "NoExecute untolerated", pod: podWith(nil), node: tainted(taint("k", "", corev1.TaintEffectNoExecute)), want: untolerated("k", "")},
		{name: "PreferNoSchedule is not a filter", pod: podWith(nil), node: tainted(taint("k", "v", corev1.TaintEffectPreferNoSchedule)), want: fits},
		{name: "Equal with the value", node: tainted(taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)), want: fits,
			pod: tol(corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule})},
		{name: "empty operator means Equal", node: tainted(taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)), want: fits,
			pod: tol(corev1.Toleration{Key: "dedicated", Value: "gpu"})},
		{name: "Equal with another value", node: tainted(taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)), want: untolerated("dedicated", "gpu"),
			pod: tol(corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "cpu"})},
		{name: "Exists on the key, any effect", node: tainted(taint("dedicated", "gpu", corev1.TaintEffectNoExecute)), want: fits,
			pod: tol(corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpExists})},
		{name: "effect must match when set", node: tainted(taint("dedicated", "gpu", corev1.TaintEffectNoExecute)), want: untolerated("dedicated", "gpu"),
			pod: tol(corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})},
		{name: "empty key with Exists tolerates all", node: tainted(taint("a", "1", corev1.TaintEffectNoSchedule), taint("b", "2", corev1.TaintEffectNoExecute)), want: fits,
			pod: tol(corev1.Toleration{Operator: corev1.TolerationOpExists})},
		{name: "first untolerated taint is named", node: tainted(taint("a", "1", corev1.TaintEffectNoSchedule), taint("b", "2", corev1.TaintEffectNoSchedule)), want: untolerated("b", "2"),
			pod: tol(corev1.Toleration{Key: "a", Operator: corev1.TolerationOpExists})},
		{name: "not ready node", pod: podWith(nil), want: untolerated(corev1.TaintNodeNotReady, ""),
			node: readyNode("n", func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse })},
		{name: "node without conditions", pod: podWith(nil), want: untolerated(corev1.TaintNodeNotReady, ""),
			node: readyNode("n", func(n *corev1.Node) { n.Status.Conditions = nil })},
		{name: "unknown readiness", pod: podWith(nil), want: untolerated(corev1.TaintNodeUnreachable, ""),
			node: readyNode("n", func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionUnknown })},
		{name: "memory pressure", pod: podWith(nil), want: untolerated(corev1.TaintNodeMemoryPressure, ""),
			node: readyNode("n", func(n *corev1.Node) {
				n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionTrue})
			})},
		{name: "no disk pressure", pod: podWith(nil), want: fits,
			node: readyNode("n", func(n *corev1.Node) {
				n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse})
			})},
		{name: "not ready and pid pressure: not-ready named first", pod: podWith(nil), want: untolerated(corev1.TaintNodeNotReady, ""),
			node: readyNode("n", func(n *corev1.Node) {
				n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodePIDPressure, Status: corev1.ConditionTrue}, {Type: corev1.NodeReady, Status: corev1.ConditionFalse}}
			})},
		{name: "disk pressure, tolerated", want: fits,
			node: readyNode("n", func(n *corev1.Node) {
				n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue})
			}),
			pod: tol(corev1.Toleration{Key: corev1.TaintNodeDiskPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})},
		{name: "not ready, tolerated", want: fits,
			node: readyNode("n", func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse }),
			pod:  tol(corev1.Toleration{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})},
	})
}

func TestNodeAffinity(t *testing.T) {
	labelled := readyNode("n", func(n *corev1.Node) { n.Labels = map[string]string{"disktype": "ssd", "zone": "a", "cores": "8"} })
	sel := func(s map[string]string) *corev1.Pod {
		return podWith(func(p *corev1.Pod) { p.Spec.NodeSelector = s })
	}
	aff := func(terms ...corev1.NodeSelectorTerm) *corev1.Pod {
		return podWith(func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}}
		})
	}
	expr := func(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorTerm {
		return corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: op, Values: values}}}
	}
	runFilterCases(t, NodeAffinity, []filterCase{
		{name: "no selector", pod: podWith(nil), node: readyNode("n", nil), want: fits},
		{name: "selector matches", pod: sel(map[string]string{"disktype": "ssd"}), node: labelled, want: fits},
		{name: "all keys must match", pod: sel(map[string]string{"disktype": "ssd", "zone": "b"}), node: labelled, want: noMatch},
		{name: "missing label", pod: sel(map[string]string{"disktype": "ssd"}), node: readyNode("n", nil), want: noMatch},
		{name: "exact value only", pod: sel(map[string]string{"disktype": "SSD"}), node: labelled, want: noMatch},
		{name: "affinity In", pod: aff(expr("zone", corev1.NodeSelectorOpIn, "a", "b")), node: labelled, want: fits},
		{name: "affinity NotIn", pod: aff(expr("zone", corev1.NodeSelectorOpNotIn, "a")), node: labelled, want: noMatch},
		{name: "affinity DoesNotExist", pod: aff(expr("gpu", corev1.NodeSelectorOpDoesNotExist)), node: labelled, want: fits},
		{name: "affinity Gt", pod: aff(expr("cores", corev1.NodeSelectorOpGt, "4")), node: labelled, want: fits},
		{name: "affinity Lt", pod: aff(expr("cores", corev1.NodeSelectorOpLt, "4")), node: labelled, want: noMatch},
		{name: "terms are ORed", pod: aff(expr("zone", corev1.NodeSelectorOpIn, "z"), expr("disktype", corev1.NodeSelectorOpExists)), node: labelled, want: fits},
		{name: "empty term matches nothing", pod: aff(corev1.NodeSelectorTerm{}), node: labelled, want: noMatch},
		{name: "matchFields on the name", node: labelled, want: fits, pod: aff(corev1.NodeSelectorTerm{
			MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n"}}}})},
		{name: "selector and affinity both apply", pod: podWith(func(p *corev1.Pod) {
			p.Spec.NodeSelector = map[string]string{"disktype": "ssd"}
			p.Spec.Affinity = aff(expr("zone", corev1.NodeSelectorOpIn, "b")).Spec.Affinity
		}), node: labelled, want: noMatch},
	})
}

func TestHostPorts(t *testing.T) {
	withPort := func(ip string, proto corev1.Protocol, port int32) *corev1.Pod {
		return podWith(func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: port, HostIP: ip, Protocol: proto}}
		})
	}
	busy := Status{Reasons: []string{ReasonHostPorts}}
	runFilterCases(t, HostPorts, []filterCase{
		{name: "no host ports", pod: podWith(nil), node: readyNode("n", nil), onNode: []*corev1.Pod{withPort("", "", 80)}, want: fits},
		{name: "same port", pod: withPort("", "", 8080), node: readyNode("n", nil), onNode: []*corev1.Pod{withPort("", corev1.ProtocolTCP, 8080)}, want: busy},
		{name: "other protocol", pod: withPort("", corev1.ProtocolUDP, 8080), node: readyNode("n", nil), onNode: []*corev1.Pod{withPort("", "", 8080)}, want: fits},
		{name: "other port", pod: withPort("", "", 8081), node: readyNode("n", nil), onNode: []*corev1.Pod{withPort("", "", 8080)}, want: fits},
		{name: "different IPs", pod: withPort("10.0.0.1", "", 8080), node: readyNode("n", nil), onNode: []*corev1.Pod{withPort("10.0.0.2", "", 8080)}, want: fits},
		{name: "wildcard against an IP", pod: withPort("", "", 8080), node: readyNode("n", nil), onNode: []*corev1.Pod{withPort("10.0.0.2", "", 8080)}, want: busy},
		{name: "IP against a wildcard", pod: withPort("10.0.0.1", "", 8080), node: readyNode("n", nil), onNode: []*corev1.Pod{withPort("0.0.0.0", "", 8080)}, want: busy},
	})
}

func TestResources(t *testing.T) {
	req := func(kv ...string) *corev1.Pod {
		return podWith(func(p *corev1.Pod) { p.Spec.Containers = []corev1.Container{ctr(kv...)} })
	}
	small := readyNode("n", func(n *corev1.Node) {
		n.Status.Allocatable = rl("cpu", "2", "memory", "1Gi", "pods", "2", "ephemeral-storage", "1Gi", "example.com/gpu", "1")
	})
	runFilterCases(t, Resources, []filterCase{
		{name: "fits", pod: req("cpu", "1", "memory", "512Mi"), node: small, want: fits},
		{name: "exactly fits", pod: req("cpu", "2", "memory", "1Gi"), node: small, want: fits},
		{name: "insufficient cpu", pod: req("cpu", "2100m"), node: small, want: Status{Reasons: []string{"Insufficient cpu"}}},
		{name: "insufficient cpu and memory", pod: req("cpu", "3", "memory", "2Gi"), node: small, want: Status{Reasons: []string{"Insufficient cpu", "Insufficient memory"}}},
		{name: "bound pods count", pod: req("cpu", "1"), node: small, onNode: []*corev1.Pod{req("cpu", "1500m")}, want: Status{Reasons: []string{"Insufficient cpu"}}},
		{name: "terminal pods are not on the node (caller's job), zero requests always fit", pod: podWith(nil), node: small, onNode: []*corev1.Pod{req("cpu", "2")}, want: fits},
		{name: "too many pods", pod: podWith(nil), node: small, onNode: []*corev1.Pod{podWith(nil), podWith(nil)}, want: Status{Reasons: []string{ReasonTooManyPods}}},
		{name: "too many pods and insufficient cpu", pod: req("cpu", "1"), node: small, onNode: []*corev1.Pod{req("cpu", "1"), req("cpu", "500m")}, want: Status{Reasons: []string{ReasonTooManyPods, "Insufficient cpu"}}},
		{name: "ephemeral storage", pod: req("ephemeral-storage", "2Gi"), node: small, want: Status{Reasons: []string{"Insufficient ephemeral-storage"}}},
		{name: "extended resource", pod: req("example.com/gpu", "2"), node: small, want: Status{Reasons: []string{"Insufficient example.com/gpu"}}},
		{name: "extended resource the node lacks", pod: req("example.com/fpga", "1"), node: small, want: Status{Reasons: []string{"Insufficient example.com/fpga"}}},
		{name: "node without pods allocatable takes none", pod: podWith(nil), node: readyNode("n", func(n *corev1.Node) { n.Status.Allocatable = rl("cpu", "1") }), want: Status{Reasons: []string{ReasonTooManyPods}}},
	})
}

func TestFilterOrder(t *testing.T) {
	// A cordoned, tainted, unlabelled, full node: only the first failing
	// filter speaks, as in kube.
	node := readyNode("n", func(n *corev1.Node) {
		n.Spec.Unschedulable = true
		n.Spec.Taints = []corev1.Taint{taint("k", "v", corev1.TaintEffectNoSchedule)}
	})
	pod := podWith(func(p *corev1.Pod) {
		p.Spec.NodeSelector = map[string]string{"disktype": "ssd"}
		p.Spec.Containers = []corev1.Container{ctr("cpu", "100")}
	})
	steps := []struct {
		fix  func(*corev1.Node, *corev1.Pod)
		want []string
	}{
		{func(*corev1.Node, *corev1.Pod) {}, []string{ReasonUnschedulable}},
		{func(n *corev1.Node, _ *corev1.Pod) { n.Spec.Unschedulable = false }, []string{"node(s) had untolerated taint {k: v}"}},
		{func(n *corev1.Node, _ *corev1.Pod) { n.Spec.Taints = nil }, []string{ReasonNodeSelector}},
		{func(n *corev1.Node, _ *corev1.Pod) { n.Labels = map[string]string{"disktype": "ssd"} }, []string{"Insufficient cpu"}},
		{func(_ *corev1.Node, p *corev1.Pod) { p.Spec.Containers = []corev1.Container{ctr("cpu", "1")} }, nil},
	}
	for i, s := range steps {
		s.fix(node, pod)
		got := Filter(NewPod(pod), NewNode(node))
		if !reflect.DeepEqual(got.Reasons, s.want) {
			t.Errorf("step %d: reasons %q, want %q", i, got.Reasons, s.want)
		}
	}
}
