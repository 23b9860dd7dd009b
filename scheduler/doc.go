// Package scheduler places containers on nodes, with classic swarm's filters, strategies and expressions.
//
// Place runs one pipeline per request:
//
//	nodes ─▶ availability ─▶ health ─▶ port ─▶ containerslots ─▶ dependency ─▶ affinity ─▶ constraint ─▶ whitelist ─▶ resources ─▶ strategy ─▶ node
//
// (the filters and their order come from Config.Filters, but for availability, which every placement honours:
// a node whose swarm-mode Availability is pause or drain takes no new container, `docker run` included). Each
// filter rejects a node with a reason; a node is counted once, under the first filter that rejects it, and
// when nothing fits the error (*NoNodeError) reads e.g. `no suitable node (2 nodes not available for new tasks;
// 1 node unhealthy; constraint "region==eu" not met on 2 nodes)`, availability first, then in pipeline order,
// after the original's words for the same failure (original.go): the filters applied one after the other, the
// conditions of each up to the one that left no node.
// Constraints take the original's keys (node: the ID or the name; any other key: that engine label) and swarm
// mode's: node.id, node.hostname, node.ip (an address or a CIDR block holding it), node.role,
// node.platform.os, node.platform.arch, node.labels.K (the node's labels) and engine.labels.K; any other
// node.* key is a malformed expression. Soft expressions (==~, !=~) are applied on a first pass and dropped on
// a second when the first finds nothing.
// The strategy (spread, binpack, random) ranks what is left, deterministically for the same input: ties go by
// node name, then by position; PlaceSorted takes nodes already in name order and ties by position alone. A
// filter that cannot reject the request (no ports, no dependencies, no expressions of its kind) is not asked.
// A plain request (no filter but availability, health and containerslots applies, no CPUs or memory, no
// Group, spread or binpack, nodes in name order: what `docker run -d image` asks for) is answered from an index of the last
// node list (plain.go): the same choice as the pass over every node, found by comparing the list's node
// pointers with the index's and re-keying only the nodes that changed.
//
// Swarm mode's spreading: a request with a Group (a label, e.g. a service's) ranks first the nodes holding the
// fewest of its peers (running, or placed and in flight); with Spread preferences (node attributes named as
// the constraint keys, e.g. node.labels.zone), first the nodes whose value's nodes hold the fewest peers, each
// preference in turn (a missing value is one more value, ""). The strategy ranks what ties. Only the peers on
// nodes that pass the filters count; requests without a Group do no per-node work for it. A malformed Group or
// preference is an *ExprError (CheckSpread validates preferences ahead).
//
// A request reserves HostConfig.Memory and whole CPUs: CpuShares counts CPUs at create (the original's
// meaning), swarm mode's NanoCPUs (--reserve-cpu) round up, and the larger of both counts. Placements in flight
// are reserved (ports, a container slot, CPUs and memory) until Placement.Done, so concurrent requests never
// double-book. Place is safe for concurrent use. ParseRequest moves the expressions of a create (env
// constraint:, affinity:, whitelist:, reschedule:) into swarm's labels and validates them.
package scheduler
