// Package cluster is the manager's domain core: the engines discovery reports, kept current, and what the API
// asks of them.
//
// Each Engine validates its engine, caches its containers, images, networks and volumes, and keeps them current
// from the engine's event stream and a periodic refresh; its health counts failed pings. Calls to an engine go
// through one raw path (Call: Send, Do, Open, RoundTripper) that says what it changes (Changes), and the engine
// keeps its cache right before the caller reads the answer: a client acting on an answer sees its effect.
// The Cluster finds containers (by ID, name, node/name, swarm ID, prefix), lists them as the original did,
// creates them through the scheduler with cluster-wide unique names and fixed addresses, answers inspects (kept
// while nothing changed) and /info, merges the engines' events, and, as the primary, reschedules containers of
// lost engines and sweeps orphaned address leases. Objects it hands out are never changed afterwards.
package cluster
