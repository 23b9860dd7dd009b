// Package desired keeps the cluster's desired state: services and node specs (availability, labels), what
// users asked for, apart from what the engines report.
//
// A Store holds swarm.Service and swarm.Node records whose Version.Index is the record's own version: every
// Put is a check-and-set on it (0 creates), so two managers never overwrite each other's change, and a stale
// version is an errdefs.Conflict ("update out of sequence"). Only what users set is kept for a node (Spec,
// CreatedAt, UpdatedAt); everything else about nodes and every task is read from the engines, so nothing per
// task is ever written here.
//
// Consul (consul.go) keeps each record as JSON under the discovery prefix, at <prefix>/swarm/services/<ID> and
// <prefix>/swarm/nodes/<ID>, versioned by the key's ModifyIndex, and follows changes made by other managers
// with a blocking query (Run); Load reads Consul's current state at once, for a manager that becomes primary.
// With Consul unreachable it serves the last state it knew and refuses writes. Memory (memory.go) is the same
// contract in one process (file:// and nodes:// discovery, and tests); one contract test runs on both.
package desired
