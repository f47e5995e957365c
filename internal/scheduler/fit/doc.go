// Package fit holds the scheduler's pure decisions: whether a pod fits a
// node (filters, in kube-scheduler's order and with its reason strings), how
// well (scores), which node to pick (selection with injected randomness),
// and the FailedScheduling message. Nothing here talks to the API or reads
// the clock.
package fit
