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
	return append(append(append(s.coreRoutes(), s.swarmRoutes()...), s.secretRoutes()...), s.resourceRoutes()...)
}

func (s *Server) coreRoutes() []route {
	c, sys := s.containers, s.system
	return []route{
		// system.go
		{"GET", "/_ping", sys.ping},
		{"HEAD", "/_ping", sys.ping},
		{"GET", "/info", sys.info},
		{"GET", "/version", sys.version},
		{"GET", "/events", sys.events},
		{"GET", "/system/df", sys.systemDF},

		// containers.go
		{"GET", "/containers/json", c.listContainers},
		{"GET", "/containers/ps", c.listContainers},
		{"POST", "/containers/create", c.createContainer},
		{"POST", "/containers/prune", c.pruneContainers},
		{"GET", "/containers/{name:.*}/json", c.inspectContainer},
		{"POST", "/containers/{name:.*}/start", c.changeContainer}, // changes, as those below
		{"DELETE", "/containers/{name:.*}", c.removeContainer},
		{"POST", "/containers/{name:.*}/rename", c.renameContainer},
		{"POST", "/containers/{name:.*}/exec", c.createExec},
		{"POST", "/commit", c.commit},
		// calls that change the container: forwarded, then the cache is refreshed
		{"POST", "/containers/{name:.*}/stop", c.changeContainer},
		{"POST", "/containers/{name:.*}/kill", c.changeContainer},
		{"POST", "/containers/{name:.*}/restart", c.changeContainer},
		{"POST", "/containers/{name:.*}/pause", c.changeContainer},
		{"POST", "/containers/{name:.*}/unpause", c.changeContainer},
		{"POST", "/containers/{name:.*}/update", c.changeContainer},
		{"POST", "/containers/{name:.*}/wait", c.changeContainer},
		// calls that only read or stream: forwarded as they are
		{"GET", "/containers/{name:.*}/logs", c.relayContainer},
		{"GET", "/containers/{name:.*}/stats", c.passContainer},
		{"GET", "/containers/{name:.*}/top", c.passContainer},
		{"GET", "/containers/{name:.*}/changes", c.passContainer},
		{"GET", "/containers/{name:.*}/export", c.relayContainer},
		{"GET", "/containers/{name:.*}/archive", c.relayContainer},
		{"HEAD", "/containers/{name:.*}/archive", c.passContainer},
		{"PUT", "/containers/{name:.*}/archive", c.passContainer},
		{"POST", "/containers/{name:.*}/resize", c.passContainer},
		{"GET", "/containers/{name:.*}/attach/ws", c.passContainer},
		{"POST", "/containers/{name:.*}/attach", c.attachContainer},

		// exec.go
		{"POST", "/exec/{id}/start", c.startExec},
		{"POST", "/exec/{id}/resize", c.passExec},
		{"GET", "/exec/{id}/json", c.passExec},
	}
}
