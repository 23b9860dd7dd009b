// Package orchestrator runs swarm mode's services on the cluster's plain engines.
//
// Desired state (services, node availability and labels) is in a desired.Store (Consul); actual state is read
// from the engines through the cluster's caches: a task is a container labelled with its service, task, slot
// and node (labels.go), and nothing per task is written anywhere else. What only the primary knows in memory
// (tasks that could not be placed, tasks it shut down, restart counts, an update's pace) is rebuilt or
// forgotten on failover without harm: the new primary carries on from the store and the engines.
//
// The API (api.go, services.go, tasks.go, nodes.go) answers /services, /tasks and /nodes on every manager.
// Run drives the reconciler (reconcile.go) on the primary only, from the moment it becomes primary to the
// moment it stops being so: each pass compares every service's slots (replicated: 1..Replicas; global: one per
// eligible node) with its tasks and acts — creates tasks through the scheduler, applies the restart policy,
// replaces tasks of nodes that are down or drained, removes stale copies and old history, and rolls updates
// out at the service's pace (update.go). Actions run concurrently, at most one per slot at a time.
package orchestrator
