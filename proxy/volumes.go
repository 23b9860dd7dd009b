package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/errdefs"
	"github.com/gorilla/mux"

	"swarm/cluster"
)

// Volumes, as the original: local volumes are listed as node/name; node/name creates on that node only,
// otherwise a volume is created on every healthy engine; rm removes it wherever it exists.

func (s *Server) listVolumes(w http.ResponseWriter, r *http.Request) {
	f, err := filters.FromJSON(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, badRequest("invalid filters: %w", err))
		return
	}
	out := volume.ListResponse{Volumes: []*volume.Volume{}, Warnings: []string{}}
	for _, e := range s.b.Engines() {
		if !e.Healthy() || (f.Contains("node") && !f.ExactMatch("node", e.Name())) {
			continue
		}
		for _, v := range e.Volumes() {
			cp := *v
			if cp.Driver == "local" {
				cp.Name = e.Name() + "/" + cp.Name
			}
			if (!f.Contains("name") || f.Match("name", cp.Name)) && f.MatchKVList("label", cp.Labels) &&
				(!f.Contains("driver") || f.ExactMatch("driver", cp.Driver)) {
				out.Volumes = append(out.Volumes, &cp)
			}
		}
	}
	sort.SliceStable(out.Volumes, func(i, j int) bool { return out.Volumes[i].Name < out.Volumes[j].Name })
	writeJSON(w, http.StatusOK, out)
}

// volumeEngines finds the engines holding a volume (name or node/name).
func (s *Server) volumeEngines(ref string) ([]*cluster.Engine, string) {
	pinned, name := s.splitNode(ref)
	var out []*cluster.Engine
	for _, e := range s.b.Engines() {
		if !e.Healthy() || (pinned != nil && e != pinned) {
			continue
		}
		for _, v := range e.Volumes() {
			if v.Name == name {
				out = append(out, e)
				break
			}
		}
	}
	return out, name
}

func (s *Server) inspectVolume(w http.ResponseWriter, r *http.Request) {
	engines, name := s.volumeEngines(mux.Vars(r)["name"])
	if len(engines) == 0 {
		writeError(w, errdefs.NotFound(fmt.Errorf("get %s: no such volume", mux.Vars(r)["name"])))
		return
	}
	s.forward(w, r, engines[0], "/volumes/"+name)
}

func (s *Server) createVolume(w http.ResponseWriter, r *http.Request) {
	var req volume.CreateOptions
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody))
	if err == nil && len(body) > 0 {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeError(w, badRequest("invalid volume create body: %w", err))
		return
	}
	pinned, name := s.splitNode(req.Name)
	req.Name = name
	if req.Name == "" { // one name for every engine, as the engines would each pick their own
		req.Name = randomHex(32)
	}
	var (
		mu    sync.Mutex
		first *volume.Volume
	)
	_, err = s.fanout(r.Context(), func(e *cluster.Engine) bool { return pinned == nil || e == pinned },
		func(ctx context.Context, e *cluster.Engine) error {
			var v volume.Volume
			_, err := e.Do(ctx, http.MethodPost, apiVersion(r), "/volumes/create", nil, nil, jsonReader(req), &v)
			if err == nil {
				mu.Lock()
				if first == nil {
					first = &v
				}
				mu.Unlock()
				e.RefreshVolumes(ctx)
			}
			return err
		})
	if first == nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, first)
}

func (s *Server) removeVolume(w http.ResponseWriter, r *http.Request) {
	engines, name := s.volumeEngines(mux.Vars(r)["name"])
	if len(engines) == 0 {
		writeError(w, errdefs.NotFound(fmt.Errorf("get %s: no such volume", mux.Vars(r)["name"])))
		return
	}
	set := map[*cluster.Engine]bool{}
	for _, e := range engines {
		set[e] = true
	}
	_, err := s.fanout(r.Context(), func(e *cluster.Engine) bool { return set[e] }, func(ctx context.Context, e *cluster.Engine) error {
		_, err := e.Do(ctx, http.MethodDelete, apiVersion(r), "/volumes/"+name, r.URL.Query(), nil, nil, nil)
		e.RefreshVolumes(ctx)
		return err
	})
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) pruneVolumes(w http.ResponseWriter, r *http.Request) {
	var (
		mu  sync.Mutex
		all volume.PruneReport
	)
	_, err := s.fanout(r.Context(), nil, func(ctx context.Context, e *cluster.Engine) error {
		q, err := pruneQueryFor(e.NegotiatedVersion(apiVersion(r)), r.URL.Query())
		if err != nil {
			return err
		}
		var rep volume.PruneReport
		_, err = e.Do(ctx, http.MethodPost, apiVersion(r), "/volumes/prune", q, nil, nil, &rep)
		mu.Lock()
		all.VolumesDeleted = append(all.VolumesDeleted, rep.VolumesDeleted...)
		all.SpaceReclaimed += rep.SpaceReclaimed
		mu.Unlock()
		e.RefreshVolumes(ctx)
		return err
	})
	if err != nil && len(all.VolumesDeleted) == 0 {
		writeError(w, err)
		return
	}
	if all.VolumesDeleted == nil {
		all.VolumesDeleted = []string{}
	}
	writeJSON(w, http.StatusOK, all)
}

// pruneQueryFor adapts a volume prune to an engine older than API 1.42, which prunes every unused volume, named
// ones included, and knows no "all" filter: all=true is dropped (same meaning there); without it the prune is
// refused on that engine rather than deleting named volumes the client meant to keep.
func pruneQueryFor(engineVersion string, q url.Values) (url.Values, error) {
	if !versionLess(engineVersion, "1.42") {
		return q, nil
	}
	f, err := filters.FromJSON(q.Get("filters"))
	if err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	if !f.Contains("all") || (!f.ExactMatch("all", "true") && !f.ExactMatch("all", "1")) {
		return nil, errdefs.InvalidParameter(fmt.Errorf("this engine (API %s) would prune named volumes too: "+
			"use docker volume prune --all to prune every unused volume there", engineVersion))
	}
	f.Del("all", "true")
	f.Del("all", "1")
	out := url.Values{}
	for k, v := range q {
		out[k] = v
	}
	if f.Len() == 0 {
		out.Del("filters")
	} else {
		js, _ := filters.ToJSON(f)
		out.Set("filters", js)
	}
	return out, nil
}
