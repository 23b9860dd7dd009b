package proxy

// resourceRoutes serve images, builds, networks and volumes across the cluster.
func (s *Server) resourceRoutes() []route {
	i, n, v := s.images, s.networks, s.volumes
	return []route{
		{"GET", "/images/json", i.listImages},
		{"POST", "/images/create", i.createImage},
		{"POST", "/images/load", i.loadImage},
		{"GET", "/images/get", i.saveImages},
		{"GET", "/images/search", i.anyEngine},
		{"POST", "/images/prune", i.pruneImages},
		{"POST", "/auth", i.anyEngine},
		{"GET", "/distribution/{name:.*}/json", i.anyEngine},
		{"GET", "/images/{name:.*}/json", i.passImage},
		{"GET", "/images/{name:.*}/history", i.passImage},
		{"GET", "/images/{name:.*}/get", i.onImageEngine},
		{"POST", "/images/{name:.*}/push", i.onImageEngine},
		{"POST", "/images/{name:.*}/tag", i.tagImage},
		{"DELETE", "/images/{name:.*}", i.removeImage},
		{"POST", "/build", i.build},

		{"GET", "/networks", n.listNetworks},
		{"GET", "/networks/{id:.*}", n.inspectNetwork},
		{"POST", "/networks/create", n.createNetwork},
		{"POST", "/networks/prune", n.pruneNetworks},
		{"POST", "/networks/{id:.*}/connect", n.connectNetwork},
		{"POST", "/networks/{id:.*}/disconnect", n.connectNetwork},
		{"DELETE", "/networks/{id:.*}", n.removeNetwork},

		{"GET", "/volumes", v.listVolumes},
		{"POST", "/volumes/create", v.createVolume},
		{"POST", "/volumes/prune", v.pruneVolumes},
		{"GET", "/volumes/{name:.*}", v.inspectVolume},
		{"DELETE", "/volumes/{name:.*}", v.removeVolume},
	}
}
