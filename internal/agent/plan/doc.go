// Package plan is the node agent's pure core: given a pod, what the agent
// observed of it (runtime sandboxes and containers, its own start errors, the
// last status it published) and the current time, it decides what to do next
// (Compute) and what the pod's status is (GenerateStatus). Nothing here does
// I/O or reads the clock; the pod worker in package agent executes plans.
//
// The life of a pod as the planner sees it:
//
//	+-------------------------+
//	| no ready sandbox        |--CreateSandbox (kill the old one,
//	+-------------------------+  purge init container records)
//	           |
//	           v
//	+-------------------------+
//	| initializing            |--StartInits k (one at a time, in
//	+-------------------------+  order, with back-off on failure;
//	           |                 sidecars stay running and restart)
//	           | all init containers exited 0
//	           v
//	+-------------------------+
//	| running                 |--Start / restart app containers per
//	+-------------------------+  restartPolicy and back-off
//	           | terminal phase, or deletionTimestamp set
//	           v
//	+-------------------------+
//	| terminating             |--Kill containers (pod grace),
//	+-------------------------+  StopSandboxes
//	           | nothing runs any more
//	           v
//	+-------------------------+
//	| terminated              |  Plan.Terminated: the worker may
//	+-------------------------+  tear down (deleted pods)
//
// The rules are Kubernetes' (kubelet computePodActions, getPhase,
// convertToAPIContainerStatuses, flowcontrol.Backoff), as digested in
// SEMANTICS.md sections 1, 2, 3 and 6.
package plan
