// Package proxy serves the Docker Remote API for a whole cluster, from a Backend (the cluster) reached through
// small seams declared in backend.go.
//
// Every route is registered under /v{version} and bare, in one declarative table (routes.go), handled by short
// methods of one group per job (handlers.go: containers, images, networks, volumes, system; swarm mode's services,
// tasks, nodes and logs), one file per resource. Cluster-wide calls (info, version, events, container list and
// create, images, networks and volumes across engines) are answered from the cluster; per-container calls are
// forwarded to the container's engine at the newest API version both it and the client speak, by one forwarder in
// one of four modes (forward.go: streamed, answered, rawBytes, hijacked), saying what each call changes so the
// cluster keeps its cache right. A replica forwards to the primary the same way (replica.go). Errors are
// Docker-style JSON {"message": "..."} with the engine's status codes (errors.go).
//
// With Config.Swarm set, the manager also serves swarm mode's /services, /tasks and /nodes (swarm_routes.go;
// services.go, tasks.go, nodes.go) over the Services, Tasks and Nodes seams, says so in /_ping (Swarm:
// active/manager) and /info (the Swarm section), and answers /swarm's init, join, leave, update and unlock with
// 503 and how this cluster is joined (swarm.go); without it those paths are 404 as on a classic manager. A
// service's or a task's log (servicelogs.go, logframe.go) is its task containers' logs, asked of their engines
// without details, merged line by line as the lines arrive: one frame per line (the engine's multiplexed
// format, raw if a container has a TTY), never a line split or two interleaved, each line
// "[<engine's timestamp> ]<details> <message>" with details=1, where details are the task's node, service and
// task IDs. A container whose log cannot be opened is left out unless none opens. Without follow the answer ends
// when every log ended; with follow, when the client leaves; either way every engine stream is closed before
// the handler returns. The containers are those of the moment of the request; a followed service log also
// reads, whole, the task containers that appear later (looked for every second).
package proxy
