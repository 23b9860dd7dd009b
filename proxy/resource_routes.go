package proxy

// resourceRoutes serve images, builds, networks and volumes across the cluster.
func (s *Server) resourceRoutes() []route {
	return []route{
		{"GET", "/images/json", s.listImages},
		{"POST", "/images/create", s.createImage},
		{"POST", "/images/load", s.loadImage},
		{"GET", "/images/get", s.saveImages},
		{"GET", "/images/search", s.anyEngine},
		{"POST", "/images/prune", s.pruneImages},
		{"POST", "/auth", s.anyEngine},
		{"GET", "/distribution/{name:.*}/json", s.anyEngine},
		{"GET", "/images/{name:.*}/json", s.passImage},
		{"GET", "/images/{name:.*}/history", s.passImage},
		{"GET", "/images/{name:.*}/get", s.onImageEngine},
		{"POST", "/images/{name:.*}/push", s.onImageEngine},
		{"POST", "/images/{name:.*}/tag", s.tagImage},
		{"DELETE", "/images/{name:.*}", s.removeImage},
		{"POST", "/build", s.build},

		{"GET", "/networks", s.listNetworks},
		{"GET", "/networks/{id:.*}", s.inspectNetwork},
		{"POST", "/networks/create", s.createNetwork},
		{"POST", "/networks/prune", s.pruneNetworks},
		{"POST", "/networks/{id:.*}/connect", s.connectNetwork},
		{"POST", "/networks/{id:.*}/disconnect", s.connectNetwork},
		{"DELETE", "/networks/{id:.*}", s.removeNetwork},

		{"GET", "/volumes", s.listVolumes},
		{"POST", "/volumes/create", s.createVolume},
		{"POST", "/volumes/prune", s.pruneVolumes},
		{"GET", "/volumes/{name:.*}", s.inspectVolume},
		{"DELETE", "/volumes/{name:.*}", s.removeVolume},
	}
}
