package proxy

import (
	"net/http"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"

	"swarm/cluster"
)

// pruneContainers prunes on every healthy engine in parallel and sums the answers; each engine is refreshed
// soon after.
func (c *containerAPI) pruneContainers(w http.ResponseWriter, r *http.Request) {
	call := cluster.Call{Method: http.MethodPost, Path: "/containers/prune", Version: apiVersion(r), Query: r.URL.RawQuery,
		Changes: cluster.Changes{Lists: cluster.AllContainers}}
	rs := callEach[container.PruneReport](r.Context(), cluster.Healthy(c.b.Engines()), call, nil)
	total := container.PruneReport{ContainersDeleted: joined(rs, func(p container.PruneReport) []string { return p.ContainersDeleted })}
	for _, res := range rs {
		total.SpaceReclaimed += res.Value.SpaceReclaimed
	}
	if err := failures(rs); err != nil && len(total.ContainersDeleted) == 0 {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, total)
}

// systemDF sums every healthy engine's disk usage: layer sizes added, objects listed together.
func (sys *systemAPI) systemDF(w http.ResponseWriter, r *http.Request) {
	call := cluster.Call{Method: http.MethodGet, Path: "/system/df", Version: apiVersion(r), Query: r.URL.RawQuery}
	rs := callEach[types.DiskUsage](r.Context(), cluster.Healthy(sys.b.Engines()), call, nil)
	var total types.DiskUsage
	for _, res := range rs {
		du := res.Value
		total.LayersSize += du.LayersSize
		total.Images = append(total.Images, du.Images...)
		total.Containers = append(total.Containers, du.Containers...)
		total.Volumes = append(total.Volumes, du.Volumes...)
		total.BuildCache = append(total.BuildCache, du.BuildCache...)
	}
	if err := failures(rs); err != nil && succeeded(rs) == 0 {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, total)
}
