// Package agent is the node agent's shell around the pure planner in
// agent/plan: pod sources (static manifests now, the API later) feed the
// pod Manager, which runs one worker goroutine per pod. Each worker
// observes the runtime, asks plan.Compute what to do, executes it through
// the Runtime interface, and publishes plan.GenerateStatus to the
// StatusSink.
//
//	source --[]*v1.Pod--> Manager --update/nudge--> worker (one per pod UID)
//	                         |                        | observe -> plan -> execute
//	                         |                        v
//	                   housekeeping              StatusSink (one owner)
//	             (orphaned runtime objects,
//	              leftover pod directories)
//
// A worker's lifecycle: syncing (the pod runs per its spec) ->
// terminating (deletionTimestamp set or the pod left its source: kill with
// grace, stop sandboxes) -> terminated (final status published, runtime
// objects, volumes and the pod directory removed) -> the goroutine ends.
// When the agent stops, workers end with their context and leave the
// containers running; the next agent adopts them.
package agent
