package fit

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestScore(t *testing.T) {
	req := func(kv ...string) *corev1.Pod {
		return podWith(func(p *corev1.Pod) { p.Spec.Containers = []corev1.Container{ctr(kv...)} })
	}
	node := func(onNode ...*corev1.Pod) *Node {
		n := NewNode(readyNode("n", func(n *corev1.Node) { n.Status.Allocatable = rl("cpu", "4", "memory", "4Gi", "pods", "110") }))
		for _, p := range onNode {
			n.AddPod(NewPod(p))
		}
		return n
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		node *Node
		want int64
	}{
		{"empty node, half of everything", req("cpu", "2", "memory", "2Gi"), node(), 50},
		{"cpu 75% free, memory 50% free", req("cpu", "1", "memory", "2Gi"), node(), 62},
		{"pods on the node count", req("cpu", "1", "memory", "1Gi"), node(req("cpu", "2", "memory", "2Gi")), 25},
		{"zero requests count as defaults", podWith(nil), node(), (3900*100/4000 + (4096-200)*100/4096) / 2},
		{"over capacity scores zero", req("cpu", "8", "memory", "8Gi"), node(), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Score(NewPod(tt.pod), tt.node); got != tt.want {
				t.Errorf("Score = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestNumNodesToFind(t *testing.T) {
	tests := []struct{ all, pct, want int }{
		{0, 0, 0}, {50, 0, 50}, {99, 0, 99}, {100, 0, 100}, {1000, 0, 420}, {5000, 0, 500},
		{6000, 0, 300}, {100000, 0, 5000}, {1000, 10, 100}, {1000, 50, 500}, {1000, 100, 1000}, {200, 10, 100},
	}
	for _, tt := range tests {
		if got := NumNodesToFind(tt.all, tt.pct); got != tt.want {
			t.Errorf("NumNodesToFind(%d, %d) = %d, want %d", tt.all, tt.pct, got, tt.want)
		}
	}
}

func nodesNamed(n int, mut func(i int, n *corev1.Node)) []*Node {
	out := make([]*Node, n)
	for i := range out {
		out[i] = NewNode(readyNode(fmt.Sprintf("n%d", i), func(n *corev1.Node) {
			if mut != nil {
				mut(i, n)
			}
		}))
	}
	return out
}

func TestSelect(t *testing.T) {
	first := func(int) int { return 0 }
	never := func(n int) int { return n - 1 } // keep the first of a tie unless n == 1
	t.Run("no nodes", func(t *testing.T) {
		if r := Select(NewPod(podWith(nil)), nil, 0, 0, first); r.Node != "" || r.Evaluated != 0 {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("least allocated wins", func(t *testing.T) {
		nodes := nodesNamed(3, nil)
		nodes[0].AddPod(NewPod(podWith(func(p *corev1.Pod) { p.Spec.Containers = []corev1.Container{ctr("cpu", "2")} })))
		nodes[2].AddPod(NewPod(podWith(func(p *corev1.Pod) { p.Spec.Containers = []corev1.Container{ctr("cpu", "1")} })))
		r := Select(NewPod(podWith(nil)), nodes, 0, 0, never)
		if r.Node != "n1" || r.Feasible != 3 || r.Evaluated != 3 {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("ties broken by the injected randomness", func(t *testing.T) {
		nodes := nodesNamed(4, nil)
		if r := Select(NewPod(podWith(nil)), nodes, 0, 0, never); r.Node != "n0" {
			t.Fatalf("never replace: %s", r.Node)
		}
		if r := Select(NewPod(podWith(nil)), nodes, 0, 0, first); r.Node != "n3" {
			t.Fatalf("always replace: %s", r.Node)
		}
		if r := Select(NewPod(podWith(nil)), nodes, 2, 0, never); r.Node != "n2" {
			t.Fatalf("start at 2: %s", r.Node)
		}
	})
	t.Run("rejections are reported", func(t *testing.T) {
		nodes := nodesNamed(3, func(i int, n *corev1.Node) {
			if i == 1 {
				n.Labels = map[string]string{"disktype": "ssd"}
			}
		})
		pod := NewPod(podWith(func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disktype": "ssd"} }))
		r := Select(pod, nodes, 0, 0, first)
		if r.Node != "n1" || len(r.Rejected) != 2 || r.Rejected[0].Reasons[0] != ReasonNodeSelector {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("stops after enough feasible nodes", func(t *testing.T) {
		nodes := nodesNamed(5000, nil)
		r := Select(NewPod(podWith(nil)), nodes, 4900, 0, never)
		if r.Evaluated != 500 || r.Feasible != 500 || r.Node != "n4900" {
			t.Fatalf("evaluated %d feasible %d node %s", r.Evaluated, r.Feasible, r.Node)
		}
	})
	t.Run("an unschedulable pod is checked against every node", func(t *testing.T) {
		nodes := nodesNamed(5000, nil)
		pod := NewPod(podWith(func(p *corev1.Pod) { p.Spec.Containers = []corev1.Container{ctr("cpu", "64")} }))
		r := Select(pod, nodes, 17, 0, never)
		if r.Node != "" || r.Evaluated != 5000 || len(r.Rejected) != 5000 {
			t.Fatalf("evaluated %d rejected %d", r.Evaluated, len(r.Rejected))
		}
	})
}

func TestMessage(t *testing.T) {
	never := corev1.PreemptNever
	sel := Status{Reasons: []string{ReasonNodeSelector}, Unresolvable: true}
	cpu := Status{Reasons: []string{"Insufficient cpu"}}
	cpuMem := Status{Reasons: []string{"Insufficient cpu", "Insufficient memory"}}
	tests := []struct {
		name     string
		pod      *corev1.Pod
		all      int
		rejected []Status
		want     string
	}{
		{"no nodes", podWith(nil), 0, nil, "no nodes available to schedule pods"},
		{"selector", podWith(nil), 3, []Status{sel, sel, sel},
			"0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.."},
		{"mixed, sorted as strings", podWith(nil), 3, []Status{sel, cpu, sel},
			"0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.."},
		{"several reasons on one node count once each; sorted as strings, not by count", podWith(nil), 2, []Status{cpuMem, cpu},
			"0/2 nodes are available: 1 Insufficient memory, 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.."},
		{"taint and unschedulable", podWith(nil), 2, []Status{{Reasons: []string{"node(s) had untolerated taint {k: v}"}, Unresolvable: true}, unschedulable},
			"0/2 nodes are available: 1 node(s) had untolerated taint {k: v}, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.."},
		{"preemptionPolicy Never", podWith(func(p *corev1.Pod) { p.Spec.PreemptionPolicy = &never }), 1, []Status{cpu},
			"0/1 nodes are available: 1 Insufficient cpu. not eligible due to preemptionPolicy=Never.."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Message(tt.pod, tt.all, tt.rejected); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func BenchmarkSelect5000(b *testing.B) {
	nodes := nodesNamed(5000, nil)
	pod := NewPod(podWith(nil))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		Select(pod, nodes, i*500, 0, func(int) int { return 1 })
	}
}
