package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/errdefs"
	"github.com/gorilla/mux"

	"swarm/cluster"
	"swarm/overlay/copies"
)

// Networks. Local-scope networks exist per engine and are shown as node/name; a network created without a
// node prefix is created on every healthy engine (like volumes, so a container may use it wherever it lands);
// node/name creates it on that node only, and containers asking for node/name are placed there.

func (n *networkAPI) listNetworks(w http.ResponseWriter, r *http.Request) {
	f, err := filters.FromJSON(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, badRequest("invalid filters: %w", err))
		return
	}
	if err := checkNetworkFilters(f); err != nil {
		writeError(w, err)
		return
	}
	var out []network.Inspect
	for _, e := range n.b.Engines() {
		if !e.Healthy() || (f.Contains("node") && !f.ExactMatch("node", e.Name())) {
			continue
		}
		for _, n := range e.Networks() {
			if copies.Of(n) != "" {
				continue // shown once, as its cluster network
			}
			if n.Scope == "local" {
				n.Name = e.Name() + "/" + n.Name
			}
			if matchNetwork(n, f) {
				out = append(out, n)
			}
		}
	}
	clusterNets, err := n.clusterList(r.Context(), func(nw network.Inspect) bool { return matchNetwork(nw, f) })
	if err != nil {
		writeError(w, err)
		return
	}
	out = append(out, clusterNets...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if out == nil {
		out = []network.Inspect{}
	}
	writeJSON(w, http.StatusOK, out)
}

// networkFilters are the filters a network list takes: the engine's, and node.
var networkFilters = map[string]bool{"dangling": true, "driver": true, "id": true, "label": true, "name": true,
	"scope": true, "type": true, "node": true}

// checkNetworkFilters refuses what an engine (and the original) refuses: an unknown filter, and a type other
// than custom or builtin, in the engine's words.
func checkNetworkFilters(f filters.Args) error {
	if err := f.Validate(networkFilters); err != nil {
		return errdefs.InvalidParameter(err)
	}
	for _, v := range f.Get("type") {
		if v != "custom" && v != "builtin" {
			return errdefs.InvalidParameter(fmt.Errorf("invalid filter: 'type'='%s'", v))
		}
	}
	return nil
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
			len(n.Name) > 0 && (strings.HasSuffix(n.Name, "/bridge") || strings.HasSuffix(n.Name, "/host") || strings.HasSuffix(n.Name, "/none"))
		if !f.ExactMatch("type", map[bool]string{true: "builtin", false: "custom"}[builtin]) {
			return false
		}
	}
	return f.MatchKVList("label", n.Labels)
}

// networkEngines finds the engines holding a network by ID, name or node/name.
func (n *networkAPI) networkEngines(ref string) ([]*cluster.Engine, string) {
	pinned, name := splitNode(n.b.Engines(), ref)
	var out []*cluster.Engine
	for _, e := range n.b.Engines() {
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

func (n *networkAPI) inspectNetwork(w http.ResponseWriter, r *http.Request) {
	if n.servedAsCluster(w, r, n.inspectCluster) {
		return
	}
	engines, name := n.networkEngines(mux.Vars(r)["id"])
	if len(engines) == 0 {
		writeError(w, errdefs.NotFound(fmt.Errorf("network %s not found", mux.Vars(r)["id"])))
		return
	}
	n.fw.send(w, r, forward{to: engineTarget{engines[0]}, path: "/networks/" + name})
}

// createNetwork creates a network on the node its name names (node/name), else on every healthy node under
// one name. If some nodes refuse it, it is removed from the others and the answer names the nodes that failed:
// the user asked for one network, not for some of it.
func (n *networkAPI) createNetwork(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody))
	if err != nil {
		writeError(w, badRequest("reading the request body: %w", err))
		return
	}
	var req map[string]json.RawMessage
	var named struct{ Name, Driver string }
	if json.Unmarshal(body, &req) != nil || json.Unmarshal(body, &named) != nil || named.Name == "" {
		writeError(w, errdefs.InvalidParameter(fmt.Errorf("network create needs a JSON body with a Name")))
		return
	}
	if named.Driver == overlayDriver {
		if create, ok := decodeCreate(body); ok {
			n.createCluster(w, r, create)
			return
		}
		writeError(w, errdefs.InvalidParameter(fmt.Errorf("network create: malformed body")))
		return
	}
	pinned, name := splitNode(n.b.Engines(), named.Name)
	req["Name"], _ = json.Marshal(name)
	body, _ = json.Marshal(req)
	engines := createdOn(n.b.Engines(), pinned)
	if len(engines) == 0 {
		writeError(w, errdefs.Unavailable(fmt.Errorf("no healthy node to create network %s on", named.Name)))
		return
	}
	call := cluster.Call{Method: http.MethodPost, Path: "/networks/create", Version: apiVersion(r),
		Changes: cluster.Changes{Lists: cluster.Networks}}
	rs := callEach[network.CreateResponse](r.Context(), engines, call, body)
	if err := failures(rs); err != nil {
		writeError(w, undoPartial(r.Context(), n.log, "network "+named.Name, rs, err, func(res cluster.Result[network.CreateResponse]) *cluster.Call {
			return &cluster.Call{Method: http.MethodDelete, Path: "/networks/" + res.Value.ID, Changes: cluster.Changes{Lists: cluster.Networks}}
		}))
		return
	}
	writeJSON(w, http.StatusCreated, rs[0].Value)
}

// createdOn is where an object is created: the node named, else every healthy one of the engines.
func createdOn(engines []*cluster.Engine, pinned *cluster.Engine) []*cluster.Engine {
	if pinned != nil {
		return cluster.Healthy([]*cluster.Engine{pinned})
	}
	return cluster.Healthy(engines)
}

func (n *networkAPI) removeNetwork(w http.ResponseWriter, r *http.Request) {
	if n.servedAsCluster(w, r, n.removeCluster) {
		return
	}
	engines, name := n.networkEngines(mux.Vars(r)["id"])
	if len(engines) == 0 {
		writeError(w, errdefs.NotFound(fmt.Errorf("network %s not found", mux.Vars(r)["id"])))
		return
	}
	call := cluster.Call{Method: http.MethodDelete, Path: "/networks/" + name, Version: apiVersion(r),
		Changes: cluster.Changes{Lists: cluster.Networks}}
	if err := failures(callEach[struct{}](r.Context(), engines, call, nil)); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// connectNetwork connects or disconnects a container: the call goes to the container's engine.
func (n *networkAPI) connectNetwork(w http.ResponseWriter, r *http.Request) {
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
	ct, err := n.b.Container(req.Container)
	if err != nil {
		writeError(w, err)
		return
	}
	var m map[string]json.RawMessage
	json.Unmarshal(body, &m)
	m["Container"], _ = json.Marshal(ct.ID)
	body, _ = json.Marshal(m)
	_, name := splitNode(n.b.Engines(), mux.Vars(r)["id"])
	cn, err := n.clusterNetwork(r.Context(), mux.Vars(r)["id"])
	if err == nil && cn != nil {
		name, err = cn.Name, copies.Ensure(r.Context(), ct.Engine, cn) // the engine may not have its copy yet
	}
	if err != nil {
		writeError(w, err)
		return
	}
	action := "/connect"
	if strings.HasSuffix(r.URL.Path, "/disconnect") {
		action = "/disconnect"
	}
	call := cluster.Call{Method: http.MethodPost, Path: "/networks/" + name + action, Version: apiVersion(r),
		Body: bytes.NewReader(body), Changes: cluster.Changes{Container: ct.ID, Lists: cluster.Networks}}
	if err := ct.Engine.Do(r.Context(), call, nil); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (n *networkAPI) pruneNetworks(w http.ResponseWriter, r *http.Request) {
	call := cluster.Call{Method: http.MethodPost, Path: "/networks/prune", Version: apiVersion(r), Query: r.URL.RawQuery,
		Changes: cluster.Changes{Lists: cluster.Networks}}
	rs := callEach[network.PruneReport](r.Context(), cluster.Healthy(n.b.Engines()), call, nil)
	all := network.PruneReport{NetworksDeleted: joined(rs, func(p network.PruneReport) []string { return p.NetworksDeleted })}
	if err := failures(rs); err != nil && len(all.NetworksDeleted) == 0 {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, all)
}
