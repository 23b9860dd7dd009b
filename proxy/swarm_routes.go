package proxy

// swarmRoutes serve swarm mode's services, tasks and nodes when the manager has them (Config.Swarm); without
// them there are none, and those paths answer 404 as on a classic manager. The calls the CLI's waiting loop
// makes every 200 ms come first.
func (s *Server) swarmRoutes() []route {
	if s.cfg.Swarm == nil {
		return nil
	}
	sv, t, n, l := s.services, s.tasks, s.nodes, s.logs
	return []route{
		// services.go
		{"GET", "/services/{id}", sv.inspectService},
		{"GET", "/services", sv.listServices},
		{"POST", "/services/create", sv.createService},
		{"POST", "/services/{id}/update", sv.updateService},
		{"DELETE", "/services/{id}", sv.removeService},

		// tasks.go
		{"GET", "/tasks", t.listTasks},
		{"GET", "/tasks/{id}", t.inspectTask},

		// nodes.go
		{"GET", "/nodes", n.listNodes},
		{"GET", "/nodes/{id}", n.inspectNode},
		{"POST", "/nodes/{id}/update", n.updateNode},
		{"DELETE", "/nodes/{id}", n.removeNode},

		// servicelogs.go
		{"GET", "/services/{id}/logs", l.serviceLogs},
		{"GET", "/tasks/{id}/logs", l.taskLogs},

		// swarm.go: swarm mode's own membership does not apply here
		{"GET", "/swarm", notSwarmMode},
		{"POST", "/swarm/init", notSwarmMode},
		{"POST", "/swarm/join", notSwarmMode},
		{"POST", "/swarm/leave", notSwarmMode},
		{"POST", "/swarm/update", notSwarmMode},
		{"GET", "/swarm/unlockkey", notSwarmMode},
		{"POST", "/swarm/unlock", notSwarmMode},
	}
}
