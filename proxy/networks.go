package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/errdefs"
	"github.com/gorilla/mux"

	"swarm/cluster"
)

// Networks. Local-scope networks exist per engine and are shown as node/name; a network created without a
// node prefix is created on every healthy engine (like volumes, so a container may use it wherever it lands);
// node/name creates it on that node only, and containers asking for node/name are placed there.

func (s *Server) listNetworks(w http.ResponseWriter, r *http.Request) {
	f, err := filters.FromJSON(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, badRequest("invalid filters: %w", err))
		return
	}
	var out []network.Inspect
	for _, e := range s.b.Engines() {
		if !e.Healthy() || (f.Contains("node") && !f.ExactMatch("node", e.Name())) {
			continue
		}
		for _, n := range e.Networks() {
			if n.Scope == "local" {
				n.Name = e.Name() + "/" + n.Name
			}
			if matchNetwork(n, f) {
				out = append(out, n)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if out == nil {
		out = []network.Inspect{}
	}
	writeJSON(w, http.StatusOK, out)
}

func matchNetwork(n network.Inspect, f filters.Args) bool {
	if f.Contains("name") && !f.Match("name", n.Name) {
		return false
	}
	if f.Contains("id") && !f.Match("id", n.ID) {
		return false
	}
	if f.Contains("driver") && !f.ExactMatch("driver", n.Driver) {
		return false
	}
	if f.Contains("scope") && !f.ExactMatch("scope", n.Scope) {
		return false
	}
	if f.Contains("type") {
		builtin := n.Name == "bridge" || n.Name == "host" || n.Name == "none" ||
			len(n.Name) > 0 && (hasSuffix(n.Name, "/bridge") || hasSuffix(n.Name, "/host") || hasSuffix(n.Name, "/none"))
		if !f.ExactMatch("type", map[bool]string{true: "builtin", false: "custom"}[builtin]) {
			return false
		}
	}
	return f.MatchKVList("label", n.Labels)
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}

// networkEngines finds the engines holding a network by ID, name or node/name.
func (s *Server) networkEngines(ref string) ([]*cluster.Engine, string) {
	pinned, name := s.splitNode(ref)
	var out []*cluster.Engine
	for _, e := range s.b.Engines() {
		if !e.Healthy() || (pinned != nil && e != pinned) {
			continue
		}
		for _, n := range e.Networks() {
			if n.ID == name || n.Name == name || (len(name) >= 6 && len(n.ID) >= len(name) && n.ID[:len(name)] == name) {
				out = append(out, e)
				break
			}
		}
	}
	return out, name
}

func (s *Server) inspectNetwork(w http.ResponseWriter, r *http.Request) {
	engines, name := s.networkEngines(mux.Vars(r)["id"])
	if len(engines) == 0 {
		writeError(w, errdefs.NotFound(fmt.Errorf("network %s not found", mux.Vars(r)["id"])))
		return
	}
	s.forward(w, r, engines[0], "/networks/"+name)
}

func (s *Server) createNetwork(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody))
	if err != nil {
		writeError(w, badRequest("reading the request body: %w", err))
		return
	}
	var req map[string]json.RawMessage
	var named struct{ Name string }
	if json.Unmarshal(body, &req) != nil || json.Unmarshal(body, &named) != nil || named.Name == "" {
		writeError(w, errdefs.InvalidParameter(fmt.Errorf("network create needs a JSON body with a Name")))
		return
	}
	pinned, name := s.splitNode(named.Name)
	req["Name"], _ = json.Marshal(name)
	body, _ = json.Marshal(req)
	var (
		first network.CreateResponse
		mu    sync.Mutex
	)
	_, err = s.fanout(r.Context(), func(e *cluster.Engine) bool { return pinned == nil || e == pinned },
		func(ctx context.Context, e *cluster.Engine) error {
			var resp network.CreateResponse
			_, err := e.Do(ctx, http.MethodPost, apiVersion(r), "/networks/create", nil, nil, bytesReader(body), &resp)
			if err == nil {
				mu.Lock()
				if first.ID == "" {
					first = resp
				}
				mu.Unlock()
				e.RefreshNetworks(ctx)
			}
			return err
		})
	if err != nil && first.ID == "" {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, first)
}

func (s *Server) removeNetwork(w http.ResponseWriter, r *http.Request) {
	engines, name := s.networkEngines(mux.Vars(r)["id"])
	if len(engines) == 0 {
		writeError(w, errdefs.NotFound(fmt.Errorf("network %s not found", mux.Vars(r)["id"])))
		return
	}
	set := map[*cluster.Engine]bool{}
	for _, e := range engines {
		set[e] = true
	}
	_, err := s.fanout(r.Context(), func(e *cluster.Engine) bool { return set[e] }, func(ctx context.Context, e *cluster.Engine) error {
		_, err := e.Do(ctx, http.MethodDelete, apiVersion(r), "/networks/"+name, nil, nil, nil, nil)
		e.RefreshNetworks(ctx)
		return err
	})
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// connectNetwork connects or disconnects a container: the call goes to the container's engine.
func (s *Server) connectNetwork(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody))
	if err != nil {
		writeError(w, badRequest("reading the request body: %w", err))
		return
	}
	var req struct{ Container string }
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, badRequest("invalid body: %w", err))
		return
	}
	ct, err := s.b.Container(req.Container)
	if err != nil {
		writeError(w, err)
		return
	}
	var m map[string]json.RawMessage
	json.Unmarshal(body, &m)
	m["Container"], _ = json.Marshal(ct.ID)
	body, _ = json.Marshal(m)
	_, name := s.splitNode(mux.Vars(r)["id"])
	action := "/connect"
	if hasSuffix(r.URL.Path, "/disconnect") {
		action = "/disconnect"
	}
	_, err = ct.Engine.Do(r.Context(), http.MethodPost, apiVersion(r), "/networks/"+name+action, nil, nil, bytesReader(body), nil)
	s.b.Refresh(r.Context(), ct)
	ct.Engine.RefreshNetworks(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) pruneNetworks(w http.ResponseWriter, r *http.Request) {
	var (
		all network.PruneReport
		mu  sync.Mutex
	)
	_, err := s.fanout(r.Context(), nil, func(ctx context.Context, e *cluster.Engine) error {
		var rep network.PruneReport
		_, err := e.Do(ctx, http.MethodPost, apiVersion(r), "/networks/prune", r.URL.Query(), nil, nil, &rep)
		mu.Lock()
		all.NetworksDeleted = append(all.NetworksDeleted, rep.NetworksDeleted...)
		mu.Unlock()
		e.RefreshNetworks(ctx)
		return err
	})
	if err != nil && len(all.NetworksDeleted) == 0 {
		writeError(w, err)
		return
	}
	if all.NetworksDeleted == nil {
		all.NetworksDeleted = []string{}
	}
	writeJSON(w, http.StatusOK, all)
}
