// Package netstate keeps the cluster networks' state in Consul KV, under <PREFIX>/networks/: each network (its
// subnet, VNI and options), the addresses claimed on it (by a host, or by a service: its virtual IP), the
// endpoints that hold them (docs/networks.md), and one record per service for the routing mesh (services.go,
// docs/mesh.md).
//
// Every claim is made with check-and-set, so a name, a VNI or an address is never given twice anywhere: a network
// is written in one transaction with its name and VNI, guarded by a generation key that every create bumps (two
// creates that read the same networks cannot both pass the overlap check); an address is a key created only if
// absent. Errors carry the errdefs kinds the API maps to status codes (conflict, invalid parameter, not found).
package netstate
