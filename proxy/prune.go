package proxy

import (
	"context"
	"net/http"
	"sync"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"

	"swarm/cluster"
)

// pruneContainers prunes on every healthy engine in parallel and sums the answers.
func (s *Server) pruneContainers(w http.ResponseWriter, r *http.Request) {
	var (
		mu    sync.Mutex
		total container.PruneReport
	)
	_, err := s.fanout(r.Context(), nil, func(ctx context.Context, e *cluster.Engine) error {
		var rep container.PruneReport
		_, err := e.Do(ctx, http.MethodPost, apiVersion(r), "/containers/prune", r.URL.Query(), nil, nil, &rep)
		mu.Lock()
		total.ContainersDeleted = append(total.ContainersDeleted, rep.ContainersDeleted...)
		total.SpaceReclaimed += rep.SpaceReclaimed
		mu.Unlock()
		e.RefreshContainersAsync()
		return err
	})
	if err != nil && len(total.ContainersDeleted) == 0 {
		writeError(w, err)
		return
	}
	if total.ContainersDeleted == nil {
		total.ContainersDeleted = []string{}
	}
	writeJSON(w, http.StatusOK, total)
}

// systemDF sums every healthy engine's disk usage: layer sizes added, objects listed together.
func (s *Server) systemDF(w http.ResponseWriter, r *http.Request) {
	var (
		mu    sync.Mutex
		total types.DiskUsage
	)
	ok, err := s.fanout(r.Context(), nil, func(ctx context.Context, e *cluster.Engine) error {
		var du types.DiskUsage
		_, err := e.Do(ctx, http.MethodGet, apiVersion(r), "/system/df", r.URL.Query(), nil, nil, &du)
		mu.Lock()
		defer mu.Unlock()
		total.LayersSize += du.LayersSize
		total.Images = append(total.Images, du.Images...)
		total.Containers = append(total.Containers, du.Containers...)
		total.Volumes = append(total.Volumes, du.Volumes...)
		total.BuildCache = append(total.BuildCache, du.BuildCache...)
		return err
	})
	if err != nil && ok == 0 {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, total)
}
