package fit

// MaxScore is the best score a node can get.
const MaxScore = 100

// Score is kube's LeastAllocated strategy over CPU and memory (weight 1
// each): the share of the node left free after placing the pod, counting
// unset container requests as the defaults, so pods spread over nodes and
// zero-request pods spread by count. 0..MaxScore.
func Score(p *Pod, n *Node) int64 {
	cpu := leastAllocated(n.NonZeroRequested.MilliCPU+p.NonZero.MilliCPU, n.Allocatable.MilliCPU)
	mem := leastAllocated(n.NonZeroRequested.Memory+p.NonZero.Memory, n.Allocatable.Memory)
	return (cpu + mem) / 2
}

func leastAllocated(requested, capacity int64) int64 {
	if capacity <= 0 || requested > capacity {
		return 0
	}
	return (capacity - requested) * MaxScore / capacity
}
