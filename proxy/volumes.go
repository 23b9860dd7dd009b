package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/errdefs"
	"github.com/gorilla/mux"

	"swarm/cluster"
	"swarm/scheduler"
)

// Volumes, as the original: local volumes are listed as node/name; node/name creates on that node only,
// otherwise a volume is created on every healthy engine; rm removes it wherever it exists.

func (v *volumeAPI) listVolumes(w http.ResponseWriter, r *http.Request) {
	f, err := filters.FromJSON(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, badRequest("invalid filters: %w", err))
		return
	}
	out := volume.ListResponse{Volumes: []*volume.Volume{}, Warnings: []string{}}
	for _, e := range v.b.Engines() {
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
func (v *volumeAPI) volumeEngines(ref string) ([]*cluster.Engine, string) {
	pinned, name := splitNode(v.b.Engines(), ref)
	var out []*cluster.Engine
	for _, e := range v.b.Engines() {
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

func (v *volumeAPI) inspectVolume(w http.ResponseWriter, r *http.Request) {
	engines, name := v.volumeEngines(mux.Vars(r)["name"])
	if len(engines) == 0 {
		writeError(w, errdefs.NotFound(fmt.Errorf("get %s: no such volume", mux.Vars(r)["name"])))
		return
	}
	v.fw.send(w, r, forward{to: engineTarget{engines[0]}, path: "/volumes/" + name})
}

// createVolume creates a volume on the node its name names (node/name), else on every healthy node under one
// name. If some nodes refuse it, it is removed from the others where this create made it, and the answer names
// the nodes that failed.
func (v *volumeAPI) createVolume(w http.ResponseWriter, r *http.Request) {
	var req volume.CreateOptions
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody))
	if err == nil && len(body) > 0 {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeError(w, badRequest("invalid volume create body: %w", err))
		return
	}
	pinned, name := splitNode(v.b.Engines(), req.Name)
	req.Name = name
	if req.Name == "" { // one name for every engine, as the engines would each pick their own
		req.Name = randomHex(32)
	}
	engines, err := whitelisted(createdOn(v.b.Engines(), pinned), req.Labels)
	if err != nil {
		writeError(w, err)
		return
	}
	if len(engines) == 0 {
		writeError(w, errdefs.Unavailable(fmt.Errorf("no healthy node to create volume %s on%s", req.Name,
			map[bool]string{true: " among those its " + scheduler.LabelWhitelists + " label names"}[req.Labels[scheduler.LabelWhitelists] != ""])))
		return
	}
	had := map[*cluster.Engine]bool{} // engines that held the volume before: an engine's create then returns it
	for _, e := range engines {
		had[e] = slices.ContainsFunc(e.Volumes(), func(v *volume.Volume) bool { return v.Name == req.Name })
	}
	body, _ = json.Marshal(req)
	call := cluster.Call{Method: http.MethodPost, Path: "/volumes/create", Version: apiVersion(r),
		Changes: cluster.Changes{Lists: cluster.Volumes}}
	rs := callEach[volume.Volume](r.Context(), engines, call, body)
	if err := failures(rs); err != nil {
		writeError(w, undoPartial(r.Context(), v.log, "volume "+req.Name, rs, err, func(res cluster.Result[volume.Volume]) *cluster.Call {
			if had[res.Engine] {
				return nil
			}
			return &cluster.Call{Method: http.MethodDelete, Path: "/volumes/" + req.Name, Changes: cluster.Changes{Lists: cluster.Volumes}}
		}))
		return
	}
	writeJSON(w, http.StatusCreated, rs[0].Value)
}

// whitelisted keeps the engines a com.docker.swarm.whitelists label names (["node==node-1|node-2"], each list
// a node must be in), as the original created such a volume on those nodes only.
func whitelisted(engines []*cluster.Engine, labels map[string]string) ([]*cluster.Engine, error) {
	raw := labels[scheduler.LabelWhitelists]
	if raw == "" {
		return engines, nil
	}
	var lists []string
	if err := json.Unmarshal([]byte(raw), &lists); err != nil {
		return nil, errdefs.InvalidParameter(fmt.Errorf("invalid label %s=%s: a JSON array of strings is expected, e.g. [\"node==node-1|node-2\"]",
			scheduler.LabelWhitelists, raw))
	}
	out := engines
	for _, l := range lists {
		_, names, ok := strings.Cut(l, "==")
		if !ok {
			return nil, errdefs.InvalidParameter(fmt.Errorf("invalid whitelist expression %q: use node==name1|name2", l))
		}
		out = slices.DeleteFunc(slices.Clone(out), func(e *cluster.Engine) bool {
			return !slices.Contains(strings.Split(names, "|"), e.Name())
		})
	}
	return out, nil
}

func (v *volumeAPI) removeVolume(w http.ResponseWriter, r *http.Request) {
	engines, name := v.volumeEngines(mux.Vars(r)["name"])
	if len(engines) == 0 {
		writeError(w, errdefs.NotFound(fmt.Errorf("get %s: no such volume", mux.Vars(r)["name"])))
		return
	}
	call := cluster.Call{Method: http.MethodDelete, Path: "/volumes/" + name, Version: apiVersion(r), Query: r.URL.RawQuery,
		Changes: cluster.Changes{Lists: cluster.Volumes}}
	if err := failures(callEach[struct{}](r.Context(), engines, call, nil)); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (v *volumeAPI) pruneVolumes(w http.ResponseWriter, r *http.Request) {
	rs := cluster.FanOut(r.Context(), cluster.Healthy(v.b.Engines()), func(ctx context.Context, e *cluster.Engine) (volume.PruneReport, error) {
		var rep volume.PruneReport
		q, err := pruneQueryFor(e.Version(apiVersion(r)), r.URL.Query())
		if err == nil {
			err = e.Do(ctx, cluster.Call{Method: http.MethodPost, Path: "/volumes/prune", Version: apiVersion(r),
				Query: q.Encode(), Changes: cluster.Changes{Lists: cluster.Volumes}}, &rep)
		}
		return rep, err
	})
	all := volume.PruneReport{VolumesDeleted: joined(rs, func(p volume.PruneReport) []string { return p.VolumesDeleted })}
	for _, res := range rs {
		all.SpaceReclaimed += res.Value.SpaceReclaimed
	}
	if err := failures(rs); err != nil && len(all.VolumesDeleted) == 0 {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, all)
}

// pruneQueryFor adapts a volume prune to an engine older than API 1.42, which prunes every unused volume, named
// ones included, and knows no "all" filter: all=true is dropped (same meaning there); without it the prune is
// refused on that engine rather than deleting named volumes the client meant to keep.
func pruneQueryFor(engineVersion string, q url.Values) (url.Values, error) {
	if !versions.LessThan(engineVersion, "1.42") {
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
