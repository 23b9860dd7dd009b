package proxy

import (
	"net/http"
	"sync"

	"github.com/docker/docker/api/types/container"
)

// pruneContainers prunes on every healthy engine in parallel and sums the answers.
func (s *Server) pruneContainers(w http.ResponseWriter, r *http.Request) {
	var (
		mu    sync.Mutex
		total container.PruneReport
		errs  []error
		wg    sync.WaitGroup
	)
	for _, e := range s.b.Engines() {
		if !e.Healthy() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rep container.PruneReport
			_, err := e.Do(r.Context(), http.MethodPost, apiVersion(r), "/containers/prune", r.URL.Query(), nil, nil, &rep)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			total.ContainersDeleted = append(total.ContainersDeleted, rep.ContainersDeleted...)
			total.SpaceReclaimed += rep.SpaceReclaimed
			e.RefreshContainersAsync()
		}()
	}
	wg.Wait()
	if len(errs) > 0 && len(total.ContainersDeleted) == 0 {
		writeError(w, errs[0])
		return
	}
	if total.ContainersDeleted == nil {
		total.ContainersDeleted = []string{}
	}
	writeJSON(w, http.StatusOK, total)
}
