package fit

// Sampling constants of kube-scheduler: look for at least this many
// feasible nodes, and with the adaptive percentage at least 5% of them.
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
)

// NumNodesToFind is how many feasible nodes to collect before scoring, as
// kube's numFeasibleNodesToFind: every node up to 100, else percentage of
// them (0 picks the adaptive 50% - nodes/125, at least 5%), at least 100.
func NumNodesToFind(all, percentage int) int {
	if all < minFeasibleNodesToFind || percentage >= 100 {
		return all
	}
	if percentage <= 0 {
		percentage = max(50-all/125, minFeasibleNodesPercentageToFind)
	}
	n := all * percentage / 100
	return max(n, minFeasibleNodesToFind)
}

// Result is the outcome of Select.
type Result struct {
	// Node is the chosen node's name, "" if the pod fits nowhere.
	Node string
	// Evaluated is how many nodes were filtered, starting at the start
	// index; the caller starts the next pod after them.
	Evaluated int
	// Feasible is how many nodes passed the filters.
	Feasible int
	// Rejected has the verdict of each node that did not pass. When Node
	// is "" every node was evaluated.
	Rejected []Status
}

// Select filters nodes in order from start (wrapping around) until
// NumNodesToFind(len(nodes), percentage) fit, scores those, and picks the
// best; ties are broken by reservoir sampling with intn (intn(n) returns
// 0..n-1), as kube's selectHost.
func Select(p *Pod, nodes []*Node, start, percentage int, intn func(int) int) Result {
	var res Result
	if len(nodes) == 0 {
		return res
	}
	want := NumNodesToFind(len(nodes), percentage)
	start %= len(nodes)
	var best int64 = -1
	ties := 0
	for i := 0; i < len(nodes) && res.Feasible < want; i++ {
		n := nodes[(start+i)%len(nodes)]
		res.Evaluated++
		st := Filter(p, n)
		if !st.Fits() {
			res.Rejected = append(res.Rejected, st)
			continue
		}
		res.Feasible++
		switch s := Score(p, n); {
		case s > best:
			best, ties, res.Node = s, 1, n.Name()
		case s == best:
			ties++
			if intn(ties) == 0 {
				res.Node = n.Name()
			}
		}
	}
	return res
}
