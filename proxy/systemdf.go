package proxy

import (
	"net/http"
	"sync"

	"github.com/docker/docker/api/types"
)

// systemDF sums every healthy engine's disk usage: layers sizes added, objects listed together.
func (s *Server) systemDF(w http.ResponseWriter, r *http.Request) {
	var (
		mu    sync.Mutex
		total types.DiskUsage
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
			var du types.DiskUsage
			_, err := e.Do(r.Context(), http.MethodGet, apiVersion(r), "/system/df", r.URL.Query(), nil, nil, &du)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			total.LayersSize += du.LayersSize
			total.Images = append(total.Images, du.Images...)
			total.Containers = append(total.Containers, du.Containers...)
			total.Volumes = append(total.Volumes, du.Volumes...)
			total.BuildCache = append(total.BuildCache, du.BuildCache...)
		}()
	}
	wg.Wait()
	if len(errs) > 0 && total.Images == nil && total.Containers == nil {
		writeError(w, errs[0])
		return
	}
	writeJSON(w, http.StatusOK, total)
}
