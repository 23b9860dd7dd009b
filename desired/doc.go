// Package desired keeps the cluster's desired state: services, node specs (availability, labels), secrets and
// configs, what users asked for, apart from what the engines report.
//
// A Store holds swarm.Service, swarm.Node, swarm.Secret and swarm.Config records whose Version.Index is the
// record's own version: every Put is a check-and-set on it (0 creates), so two managers never overwrite each
// other's change, and a stale version is an errdefs.Conflict ("update out of sequence"). Only what users set
// is kept for a node (Spec, CreatedAt, UpdatedAt); everything else about nodes and every task is read from the
// engines, so nothing per task is ever written here. Secrets and configs are kept as the caller gives them: a
// secret's Data is sealed by the caller before it is put, so the store never holds it in clear.
//
// Consul (consul.go) keeps each record as JSON under the discovery prefix, at <prefix>/swarm/services/<ID>,
// <prefix>/swarm/nodes/<ID>, <prefix>/swarm/secrets/<ID> and <prefix>/swarm/configs/<ID>, versioned by the
// key's ModifyIndex, and follows changes made by other managers with a blocking query (Run); Load reads
// Consul's current state at once, for a manager that becomes primary. With Consul unreachable it serves the
// last state it knew and refuses writes. Memory (memory.go) is the same contract in one process (file:// and
// nodes:// discovery, and tests); one contract test runs on both.
package desired
