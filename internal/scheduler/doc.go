// Package scheduler assigns pods with an empty spec.nodeName to nodes: a
// queue of pending pods fed by shared informers, one scheduling goroutine
// that runs the pure filters and scores of package fit over a cache of
// nodes (bound plus assumed pods), binders that POST pods/<name>/binding,
// and leader election through a Lease.
package scheduler
