package proxy

import "log/slog"

// The handlers, in groups of one job each; each group holds the backend, the forwarder and the logger. The
// Server (server.go) routes to them and forwards a replica's requests to the primary.

// containerAPI serves containers and their execs (containers.go, exec.go, wait.go, prune.go).
type containerAPI struct {
	b    Backend
	nets ClusterNetworks // nil: no cluster networks
	svcs Services        // nil: no services (their ingress ports hold their numbers on every node)
	fw   *forwarder
	log  *slog.Logger
}

// imageAPI serves images and builds, across the engines (images.go, images_ops.go, build.go).
type imageAPI struct {
	b   Backend
	fw  *forwarder
	log *slog.Logger
}

// networkAPI serves networks, per engine or on every engine (networks.go).
type networkAPI struct {
	b    Backend
	nets ClusterNetworks // nil: no cluster networks (discovery without Consul)
	svcs Services        // nil: no services
	fw   *forwarder
	log  *slog.Logger
}

// volumeAPI serves volumes, per engine or on every engine (volumes.go).
type volumeAPI struct {
	b   Backend
	fw  *forwarder
	log *slog.Logger
}

// systemAPI serves _ping, /info, /version, /events and /system/df (system.go, events.go, prune.go).
type systemAPI struct {
	b   Backend
	cfg Config
}

// serviceAPI serves swarm mode's services (services.go).
type serviceAPI struct {
	s Services
}

// taskAPI serves swarm mode's tasks (tasks.go).
type taskAPI struct {
	t Tasks
}

// nodeAPI serves swarm mode's nodes (nodes.go).
type nodeAPI struct {
	n Nodes
}

// logAPI serves a service's or a task's log, merged from its task containers' logs on their engines
// (servicelogs.go, logframe.go).
type logAPI struct {
	t    Tasks
	open openLog
	log  *slog.Logger
}

// forwarder sends requests on to an engine or the primary manager (forward.go, hijack.go).
type forwarder struct {
	log *slog.Logger
}
