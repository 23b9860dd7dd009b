package proxy

// resourceRoutes serve images, builds, networks and volumes.
func (s *Server) resourceRoutes() []route {
	return []route{
		{"GET", "/images/json", s.listImages},
		{"GET", "/images/{name:.*}/json", s.passImage},
		{"GET", "/images/{name:.*}/history", s.passImage},
	}
}
