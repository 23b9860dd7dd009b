// Package proxy serves the Docker Remote API for a whole cluster.
//
// Every route is registered under /v{version} and bare (routes.go, one declarative table, busiest calls first;
// the versioned routes come first, and a route's literal tail is checked before its path pattern, so a call
// does not run every earlier route's regular expression). Cluster-wide calls
// (info, version, events, container list and create) are answered by the manager from the cluster state;
// per-container calls are forwarded to the engine that owns the container, at the newest API version both the
// client and that engine speak, with streams flushed as they come (forward.go); calls that change a container
// and answer at once (start, stop, kill, restart, pause, unpause, update, rename, remove) are relayed, status,
// Content-Type and body both ways, without the reverse proxy's per-call copies (forward.go); attach and exec
// start are hijacked raw streams with half-close and exit codes preserved (hijack.go); logs, exports and copies
// out of a container are asked of the engine in HTTP/1.0 and its answer passed to the client's connection as
// bytes, spliced by the kernel (rawstream.go). A container's inspect is
// forwarded too, and its answer given again while nothing has happened to the container (containers.go; the
// cluster package says when an answer is dropped). A wait for a container's removal
// (docker run --rm) is answered by the manager when the engine reported the removal but left the wait
// unanswered, as dockerd 20.10 can (wait.go). Errors are Docker-style JSON
// {"message": "..."} with the engine's status codes (errors.go). Handlers are short methods, one file per
// resource.
package proxy
