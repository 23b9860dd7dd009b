// Package cluster is the manager's engine pool and cluster state.
//
// For every address discovery reports, an Engine connects with the Docker client, validates the engine
// (/info, /version; a swarm manager posing as an engine is refused), negotiates the API version, and keeps a
// cache of its containers, images, networks and volumes, current through the engine's /events stream (read by
// the engine's own loop) and a periodic refresh at a random moment of the interval (a timer, no goroutine
// waiting): the containers each time, images, networks and volumes (which their events re-read) at every
// fourth refresh, at a nudge and on every (re)connection. States: Pending -> Healthy <-> Unhealthy, Disconnected when discovery drops it.
// Calls share one pool of idle connections for all engines (at most 4,096, 16 an engine); each event stream
// dials a connection of its own, so the connection the start-up sync used stays for the engine's next call.
// A broken event stream starts probes at once, so a stopped engine is Unhealthy within a few seconds.
// Health counts failed pings only: a failed call starts one ping, and an engine that answers it stays Healthy
// however long one of its containers' calls took (dockerd holds a container's lock through a slow start).
// Changes of health are logged (warning: "engine unhealthy", with the failure).
//
// A container is re-read with one inspect (its list entry made from it) after a call through the manager
// changes it, or after an event the cache does not already show (compared by the engine's own clock). Events
// a call through the manager causes start no re-read of their own: the create event of a create in flight
// there (by swarm ID), events before the re-read a changing call promised (Expect), and events that find an
// earlier re-read under way (what it shows decides). A create is cached from its request at once and replaced
// by the engine's view at the start's re-read, or after 250 ms. A periodic refresh whose container list is the
// last one (status texts aside) on a cache whose containers did not change since (the engine's health, info
// and images may have) decodes nothing; one that finds nothing new keeps the cache and every view derived from
// it (the scheduler's nodes, /info's per-engine blocks and their encoded runs, the encoded list entries, the
// containers sorted newest first), which are rebuilt only for engines that changed. Of an inspect the cache
// keeps the container's state and what the scheduler reads (bound ports, reservations); the whole answer only
// for containers rescheduled on node failure, which are recreated from it. The scheduler's node list is
// patched in place, and placements run under its lock.
//
// Inspects through the manager go to the engine, and their answers are kept (kept_inspects.go, up to 64 MiB
// for all engines) and given again while the engine's event stream stayed open and nothing about the container
// happened since: any event of it but reads (top, attach, copy...), an event naming it (network connect), a
// re-read (every call through the manager that changes a container re-reads it before answering), an exec
// created. Containers with health probes are always read afresh, as are inspects with a query (size).
//
// The Cluster answers what the API needs from that state: container lookup (ID, prefix, name, node/name,
// swarm ID), the cluster-wide container list, /info, the merged event stream, and container creation through
// the scheduler with cluster-wide name uniqueness. Cached objects are immutable once published, so readers
// never hold an engine's lock while rendering.
package cluster
