// Package proxy serves the Docker Remote API for a whole cluster, from a Backend (the cluster) reached through
// small seams declared in backend.go.
//
// Every route is registered under /v{version} and bare, in one declarative table (routes.go), handled by short
// methods of one group per job (handlers.go: containers, images, networks, volumes, system), one file per
// resource. Cluster-wide calls (info, version, events, container list and create, images, networks and volumes
// across engines) are answered from the cluster; per-container calls are forwarded to the container's engine at
// the newest API version both it and the client speak, by one forwarder in one of four modes (forward.go:
// streamed, answered, rawBytes, hijacked), saying what each call changes so the cluster keeps its cache right. A
// replica forwards to the primary the same way (replica.go). Errors are Docker-style JSON {"message": "..."}
// with the engine's status codes (errors.go).
package proxy
