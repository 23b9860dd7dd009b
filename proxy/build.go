package proxy

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/docker/docker/errdefs"

	"swarm/cluster"
)

// build runs `docker build` on the node the scheduler picks from --build-arg constraint:... and streams its
// output. BuildKit sessions are not proxied: the classic builder is used (DOCKER_BUILDKIT=0).
func (i *imageAPI) build(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("version") == "2" || q.Get("session") != "" {
		writeError(w, errdefs.NotImplemented(fmt.Errorf("BuildKit builds are not supported through the swarm manager: "+
			"use the classic builder (DOCKER_BUILDKIT=0 docker build ...)")))
		return
	}
	args := map[string]*string{}
	if raw := q.Get("buildargs"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			writeError(w, badRequest("invalid buildargs: %w", err))
			return
		}
	}
	e, done, err := i.b.PlaceBuild(r.Context(), args)
	if err != nil {
		writeError(w, err)
		return
	}
	defer done()
	w.Header().Set("X-Swarm-Node", e.Name())
	i.fw.send(w, r, forward{to: engineTarget{e}, path: "/build", changes: cluster.Changes{Lists: cluster.Images}})
}
