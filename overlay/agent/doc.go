// Package agent is the part of `swarm join` that makes cluster networks work on its host (docs/networks.md): it
// is the `swarmnet` network and IPAM driver the engine calls (through overlay/plugin), keeps the network state in
// Consul (overlay/netstate) and programs the kernel (overlay/dataplane).
//
// The engine's copy of a cluster network names it in its driver and IPAM options (OptNetwork). Addresses are
// claimed in Consul for this host; endpoints are published there when the engine creates them; and Run follows
// every endpoint of the cluster, keeping each local network's forwarding entries to exactly the endpoints of
// the other hosts. All it needs after a restart is in Consul and the kernel, so containers stay connected while
// it is down and their entries are replayed when it is back.
//
// It also keeps its host's part of the routing mesh (mesh.go, docs/mesh.md): it follows the services' records,
// claims this host's own address on each network a service needs it on (an endpoint "host-<network>"), puts
// that address and the services' virtual IPs on the bridges, and hands the frontends to a Mesh (overlay/mesh);
// names answer a service's virtual IP (vip mode) or its tasks (dnsrr, tasks.NAME), never a draining task nor
// one whose health check has not passed (health.go: it follows the engine's health events).
package agent
