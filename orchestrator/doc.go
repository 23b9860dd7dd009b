// Package orchestrator runs swarm mode's services on the cluster's plain engines.
//
// Desired state (services, node availability and labels) is in a desired.Store (Consul); actual state is read
// from the engines through the cluster's caches: a task is a container labelled with its service, task, slot
// and node (labels.go), and nothing per task is written anywhere else. What only the primary knows in memory
// (tasks that could not be placed, tasks it shut down, restart counts, an update's pace) is rebuilt or
// forgotten on failover without harm: the new primary carries on from the store and the engines.
//
// An Orchestrator is two types over one shared state (orchestrator.go). The API (api_services.go, api_tasks.go,
// api_nodes.go, logs.go) answers /services, /tasks, /nodes and /info's Swarm section on every manager; it
// writes the desired state and reads the actual one, and acts on no container. The reconciler, which Run
// drives on the primary only, from the moment it becomes primary to the moment it stops being so, is what
// acts (reconcile.go, execute.go): each pass compares every service's slots (replicated: 1..Replicas; global: one per
// eligible node) with its tasks and acts — creates tasks through the scheduler, applies the restart policy,
// replaces tasks of nodes that are down or drained, removes stale copies and old history, and rolls updates
// out at the service's pace (update.go). With cluster networks (Config.Networks) a service's tasks join them,
// its endpoint (ingress ports, virtual IPs) is worked out at create and update (endpoint.go), the primary
// writes the routing mesh's record of each service (records.go), and a running task is drained from the mesh
// before it is stopped or removed. A task's secrets and configs (Config.Secrets) are copied into its container
// before it starts (files.go); a spec asking what no task would get is refused, naming it (honoured.go). A
// task with a health check runs only once it passes; one whose check fails is stopped and counts as failed.
// Removed tasks are stopped with their grace period first. Actions run concurrently, at most one per slot at a
// time.
package orchestrator
