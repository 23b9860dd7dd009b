package proxy

import "net/http"

type route struct {
	method  string
	path    string
	handler http.HandlerFunc
}

// routes is the whole API surface, the busiest calls first (they are matched in order). Everything not listed
// answers 404 with a JSON message.
func (s *Server) routes() []route {
	return append(s.coreRoutes(), s.resourceRoutes()...)
}

func (s *Server) coreRoutes() []route {
	return []route{
		// system.go
		{"GET", "/_ping", s.ping},
		{"HEAD", "/_ping", s.ping},
		{"GET", "/info", s.info},
		{"GET", "/version", s.version},
		{"GET", "/events", s.events},
		{"GET", "/system/df", s.systemDF},

		// containers.go
		{"GET", "/containers/json", s.listContainers},
		{"GET", "/containers/ps", s.listContainers},
		{"POST", "/containers/create", s.createContainer},
		{"POST", "/containers/prune", s.pruneContainers},
		{"GET", "/containers/{name:.*}/json", s.inspectContainer},
		{"POST", "/containers/{name:.*}/start", s.changeContainer}, // changes, as those below
		{"DELETE", "/containers/{name:.*}", s.removeContainer},
		{"POST", "/containers/{name:.*}/rename", s.renameContainer},
		{"POST", "/containers/{name:.*}/exec", s.createExec},
		{"POST", "/commit", s.commit},
		// calls that change the container: forwarded, then the cache is refreshed
		{"POST", "/containers/{name:.*}/stop", s.changeContainer},
		{"POST", "/containers/{name:.*}/kill", s.changeContainer},
		{"POST", "/containers/{name:.*}/restart", s.changeContainer},
		{"POST", "/containers/{name:.*}/pause", s.changeContainer},
		{"POST", "/containers/{name:.*}/unpause", s.changeContainer},
		{"POST", "/containers/{name:.*}/update", s.changeContainer},
		{"POST", "/containers/{name:.*}/wait", s.changeContainer},
		// calls that only read or stream: forwarded as they are
		{"GET", "/containers/{name:.*}/logs", s.relayContainer},
		{"GET", "/containers/{name:.*}/stats", s.passContainer},
		{"GET", "/containers/{name:.*}/top", s.passContainer},
		{"GET", "/containers/{name:.*}/changes", s.passContainer},
		{"GET", "/containers/{name:.*}/export", s.relayContainer},
		{"GET", "/containers/{name:.*}/archive", s.relayContainer},
		{"HEAD", "/containers/{name:.*}/archive", s.passContainer},
		{"PUT", "/containers/{name:.*}/archive", s.passContainer},
		{"POST", "/containers/{name:.*}/resize", s.passContainer},
		{"GET", "/containers/{name:.*}/attach/ws", s.passContainer},
		{"POST", "/containers/{name:.*}/attach", s.attachContainer},

		// exec.go
		{"POST", "/exec/{id}/start", s.startExec},
		{"POST", "/exec/{id}/resize", s.passExec},
		{"GET", "/exec/{id}/json", s.passExec},
	}
}
