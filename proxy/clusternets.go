package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/errdefs"
	"github.com/gorilla/mux"

	"swarm/cluster"
	"swarm/orchestrator"
	"swarm/overlay/copies"
	"swarm/overlay/netstate"
)

// Cluster networks (driver overlay): one network across the cluster, kept in Consul (overlay/netstate), with
// a copy on every engine that the swarmnet plugin of its host's join serves (overlay/copies, docs/networks.md).
// They are shown once, with Scope swarm, whatever the engines' copies.

// ClusterNetworks are the cluster networks' records (netstate.Store).
type ClusterNetworks interface {
	Create(ctx context.Context, spec netstate.Spec) (*netstate.Network, error)
	List(ctx context.Context) ([]*netstate.Network, error)
	Get(ctx context.Context, ref string) (*netstate.Network, error)
	Remove(ctx context.Context, ref string) error
}

// overlayDriver is the driver name that asks for a cluster network.
const overlayDriver = "overlay"

var errNoClusterNetworks = errdefs.NotImplemented(errors.New("overlay networks need the manager's discovery to be consul://: " +
	"cluster networks keep their state in Consul"))

// clusterNetwork returns the cluster network ref names, nil when it names none.
func (n *networkAPI) clusterNetwork(ctx context.Context, ref string) (*netstate.Network, error) {
	if n.nets == nil {
		return nil, nil
	}
	cn, err := n.nets.Get(ctx, ref)
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	return cn, err
}

// servedAsCluster answers with serve when the route's {id} names a cluster network (or the cluster networks
// cannot be read); false leaves the request to the engines' networks.
func (n *networkAPI) servedAsCluster(w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter, *http.Request, *netstate.Network)) bool {
	cn, err := n.clusterNetwork(r.Context(), mux.Vars(r)["id"])
	switch {
	case err != nil:
		writeError(w, err)
	case cn != nil:
		serve(w, r, cn)
	}
	return cn != nil || err != nil
}

// createCluster makes a cluster network and its copy on every healthy engine. It fails only if no engine took
// it (then nothing is left); an engine that could not is named in the answer's Warning and gets its copy later.
func (n *networkAPI) createCluster(w http.ResponseWriter, r *http.Request, req network.CreateRequest) {
	if n.nets == nil {
		writeError(w, errNoClusterNetworks)
		return
	}
	spec, err := clusterSpec(req)
	if err == nil {
		err = n.nameFree(req.Name)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	cn, err := n.nets.Create(r.Context(), spec)
	if err != nil {
		writeError(w, err)
		return
	}
	engines := cluster.Healthy(n.b.Engines())
	rs := cluster.FanOut(r.Context(), engines, func(ctx context.Context, e *cluster.Engine) (struct{}, error) {
		return struct{}{}, copies.Ensure(ctx, e, cn)
	})
	var failed []string
	for _, res := range rs {
		if res.Err != nil {
			failed = append(failed, res.Err.Error())
		}
	}
	if len(failed) == len(engines) {
		n.undoCluster(cn, engines)
		err := errdefs.Unavailable(fmt.Errorf("no node could make network %s (is swarm join --plugin-dir running beside the engines?)", cn.Name))
		if len(failed) > 0 {
			err = fmt.Errorf("%w: %s", err, strings.Join(failed, "; "))
		}
		writeError(w, err)
		return
	}
	resp := network.CreateResponse{ID: cn.ID}
	if len(failed) > 0 {
		resp.Warning = "made on the other nodes, and on these when they can: " + strings.Join(failed, "; ")
	}
	writeJSON(w, http.StatusCreated, resp)
}

// undoCluster removes a cluster network no engine took.
func (n *networkAPI) undoCluster(cn *netstate.Network, engines []*cluster.Engine) {
	ctx := context.WithoutCancel(context.Background())
	for _, e := range engines {
		copies.Remove(ctx, e, cn.ID)
	}
	if err := n.nets.Remove(ctx, cn.ID); err != nil {
		n.log.Warn("removing a cluster network no node took", "network", cn.Name, "err", err)
	}
}

// nameFree refuses a name a local network of some engine holds.
func (n *networkAPI) nameFree(name string) error {
	for _, e := range n.b.Engines() {
		for _, nw := range e.Networks() {
			if nw.Name == name && copies.Of(nw) == "" {
				return errdefs.Conflict(fmt.Errorf("network with name %s already exists (a local network of node %s)", name, e.Name()))
			}
		}
	}
	return nil
}

// clusterSpec reads what a cluster network takes from a create request; what it cannot honour is refused.
func clusterSpec(req network.CreateRequest) (netstate.Spec, error) {
	spec := netstate.Spec{Name: req.Name, Labels: req.Labels, Options: req.Options, Attachable: req.Attachable, Internal: req.Internal}
	switch {
	case req.EnableIPv6 != nil && *req.EnableIPv6:
		return spec, errdefs.InvalidParameter(errors.New("overlay networks of this cluster are IPv4 only"))
	case req.Ingress:
		return spec, errdefs.InvalidParameter(errors.New("an ingress network is not supported yet"))
	case req.ConfigOnly || req.ConfigFrom != nil:
		return spec, errdefs.InvalidParameter(errors.New("config-only networks are not supported for overlay networks"))
	case req.Scope != "" && req.Scope != "swarm":
		return spec, errdefs.InvalidParameter(fmt.Errorf("an overlay network has scope swarm, not %s", req.Scope))
	}
	if req.IPAM == nil {
		return spec, nil
	}
	if req.IPAM.Driver != "" && req.IPAM.Driver != "default" {
		return spec, errdefs.InvalidParameter(fmt.Errorf("overlay networks take addresses from the cluster, not from IPAM driver %s", req.IPAM.Driver))
	}
	if len(req.IPAM.Options) > 0 {
		return spec, errdefs.InvalidParameter(errors.New("overlay networks take no IPAM options"))
	}
	if len(req.IPAM.Config) > 1 {
		return spec, errdefs.InvalidParameter(errors.New("an overlay network takes one subnet"))
	}
	if len(req.IPAM.Config) == 1 {
		c := req.IPAM.Config[0]
		if len(c.AuxAddress) > 0 {
			return spec, errdefs.InvalidParameter(errors.New("overlay networks take no auxiliary addresses"))
		}
		spec.Subnet, spec.Gateway, spec.IPRange = c.Subnet, c.Gateway, c.IPRange
	}
	return spec, nil
}

// clusterInspect is cn as the engine API shows a network; containers are those of every engine's copy.
func clusterInspect(cn *netstate.Network, containers map[string]network.EndpointResource) network.Inspect {
	opts := map[string]string{netstate.OptVNI: strconv.FormatUint(uint64(cn.VNI), 10)}
	for k, v := range cn.Options {
		opts[k] = v
	}
	if containers == nil {
		containers = map[string]network.EndpointResource{}
	}
	return network.Inspect{Name: cn.Name, ID: cn.ID, Created: cn.Created, Scope: "swarm", Driver: overlayDriver,
		IPAM:     network.IPAM{Driver: "default", Config: []network.IPAMConfig{{Subnet: cn.Subnet, Gateway: cn.Gateway, IPRange: cn.IPRange}}},
		Internal: cn.Internal, Attachable: cn.Attachable, Ingress: cn.Ingress, Options: opts, Labels: cn.Labels, Containers: containers}
}

// clusterList is every cluster network that matches f.
func (n *networkAPI) clusterList(ctx context.Context, match func(network.Inspect) bool) ([]network.Inspect, error) {
	if n.nets == nil {
		return nil, nil
	}
	all, err := n.nets.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []network.Inspect
	for _, cn := range all {
		if nw := clusterInspect(cn, nil); match(nw) {
			out = append(out, nw)
		}
	}
	return out, nil
}

// inspectCluster answers with cn and the containers of every healthy engine's copy.
func (n *networkAPI) inspectCluster(w http.ResponseWriter, r *http.Request, cn *netstate.Network) {
	rs := cluster.FanOut(r.Context(), cluster.Healthy(n.b.Engines()), func(ctx context.Context, e *cluster.Engine) (map[string]network.EndpointResource, error) {
		cp := copies.Find(e, cn)
		if cp == nil {
			return nil, nil
		}
		var nw network.Inspect
		err := e.Do(ctx, cluster.Call{Method: http.MethodGet, Path: "/networks/" + cp.ID, Version: apiVersion(r)}, &nw)
		return nw.Containers, err
	})
	all := map[string]network.EndpointResource{}
	for _, res := range rs {
		for id, ep := range res.Value {
			all[id] = ep
		}
	}
	writeJSON(w, http.StatusOK, clusterInspect(cn, all))
}

// removeCluster removes every engine's copy, then the network; an engine whose containers still use its copy
// refuses, and the network stays. Tasks of services just removed are waited for (up to leavingWait): the
// primary removes them soon after their service, and `docker stack rm` removes a stack's networks right after
// its services, as swarm lets it.
func (n *networkAPI) removeCluster(w http.ResponseWriter, r *http.Request, cn *netstate.Network) {
	if err := n.notServing(cn); err != nil {
		writeError(w, err)
		return
	}
	deadline := time.Now().Add(leavingWait)
	n.awaitLeavingTasks(r.Context(), cn, deadline)
	errs := n.removeCopies(r.Context(), cn)
	for len(errs) > 0 && n.leavingTasks(cn) > 0 && time.Now().Before(deadline) && sleepCtx(r.Context(), 100*time.Millisecond) {
		errs = n.removeCopies(r.Context(), cn) // a task placed as its service went, now leaving too
	}
	if len(errs) > 0 {
		writeError(w, errdefs.Conflict(fmt.Errorf("error while removing network: %s", strings.Join(errs, "; "))))
		return
	}
	if err := n.nets.Remove(r.Context(), cn.ID); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// removeCopies removes every healthy engine's copy of cn and returns the engines' refusals, sorted.
func (n *networkAPI) removeCopies(ctx context.Context, cn *netstate.Network) []string {
	rs := cluster.FanOut(ctx, cluster.Healthy(n.b.Engines()), func(ctx context.Context, e *cluster.Engine) (struct{}, error) {
		return struct{}{}, copies.Remove(ctx, e, cn.ID)
	})
	var errs []string
	for _, res := range rs {
		if res.Err != nil {
			errs = append(errs, res.Err.Error())
		}
	}
	sort.Strings(errs)
	return errs
}

// leavingWait bounds how long a network's removal waits for the tasks of removed services to leave it.
const leavingWait = 30 * time.Second

// awaitLeavingTasks waits, until deadline at most, until no task of a service that no longer exists is on cn.
func (n *networkAPI) awaitLeavingTasks(ctx context.Context, cn *netstate.Network, deadline time.Time) {
	for n.leavingTasks(cn) > 0 && time.Now().Before(deadline) && sleepCtx(ctx, 100*time.Millisecond) {
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// leavingTasks counts the task containers whose service no longer exists and that are on cn, or may be (one
// just created, whose networks are not read yet).
func (n *networkAPI) leavingTasks(cn *netstate.Network) int {
	if n.svcs == nil {
		return 0
	}
	svcs, err := n.svcs.Services(filters.NewArgs(), false)
	if err != nil {
		return 0
	}
	live := map[string]bool{}
	for _, s := range svcs {
		live[s.ID] = true
	}
	count := 0
	for _, e := range n.b.Engines() {
		for _, c := range e.Containers() {
			id := c.Labels[orchestrator.LabelServiceID]
			if id == "" || live[id] {
				continue
			}
			if c.NetworkSettings == nil || len(c.NetworkSettings.Networks) == 0 || c.NetworkSettings.Networks[cn.Name] != nil {
				count++
			}
		}
	}
	return count
}

// notServing refuses to remove a network a service is attached to (its tasks would have nowhere to run).
func (n *networkAPI) notServing(cn *netstate.Network) error {
	if n.svcs == nil {
		return nil
	}
	svcs, err := n.svcs.Services(filters.NewArgs(), false)
	if err != nil {
		return err
	}
	for _, s := range svcs {
		used := false
		for _, a := range s.Spec.TaskTemplate.Networks {
			used = used || a.Target == cn.ID
		}
		for _, v := range s.Endpoint.VirtualIPs { // the ingress network is in no spec
			used = used || v.NetworkID == cn.ID
		}
		if used {
			return errdefs.Conflict(fmt.Errorf("network %s is in use by service %s", cn.Name, s.Spec.Name))
		}
	}
	return nil
}

// decodeCreate reads a network create body; ok false when it is not one.
func decodeCreate(body []byte) (network.CreateRequest, bool) {
	var req network.CreateRequest
	return req, json.Unmarshal(body, &req) == nil
}

// withClusterDNS gives a container created on cluster networks their DNS (the gateway of the first, where the
// join of its host answers the names of every host), unless the request sets DNS servers of its own. The body
// is returned as it came otherwise.
func withClusterDNS(ctx context.Context, nets ClusterNetworks, body []byte, log *slog.Logger) ([]byte, error) {
	if nets == nil {
		return body, nil
	}
	var req struct {
		HostConfig *struct {
			NetworkMode string
			DNS         []string `json:"Dns"`
		}
		NetworkingConfig *struct{ EndpointsConfig map[string]json.RawMessage }
	}
	if json.Unmarshal(body, &req) != nil || req.HostConfig == nil || len(req.HostConfig.DNS) > 0 {
		return body, nil
	}
	names := []string{req.HostConfig.NetworkMode}
	if req.NetworkingConfig != nil {
		for name := range req.NetworkingConfig.EndpointsConfig {
			names = append(names, name)
		}
	}
	for _, name := range names {
		if builtinNetwork(name) {
			continue
		}
		cn, err := nets.Get(ctx, name)
		if errdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			// Consul is unreachable: the create goes on without the cluster's DNS (names of other hosts will
			// not resolve for it) rather than fail a container that may not even be on a cluster network.
			log.Warn("cluster networks: cannot tell whether a container's network is a cluster network; created without the cluster's DNS",
				"network", name, "err", err)
			return body, nil
		}
		return setDNS(body, cn.Gateway)
	}
	return body, nil
}

// builtinNetwork tells the network modes that are never cluster networks.
func builtinNetwork(mode string) bool {
	switch mode {
	case "", "default", "bridge", "host", "none":
		return true
	}
	return strings.HasPrefix(mode, "container:") || strings.Contains(mode, "/")
}

// setDNS writes HostConfig.Dns into body, keeping every other field as it came.
func setDNS(body []byte, server string) ([]byte, error) {
	var top map[string]json.RawMessage
	var host map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, badRequest("invalid body: %w", err)
	}
	if err := json.Unmarshal(top["HostConfig"], &host); err != nil {
		return nil, badRequest("invalid HostConfig: %w", err)
	}
	host["Dns"], _ = json.Marshal([]string{server})
	top["HostConfig"], _ = json.Marshal(host)
	return json.Marshal(top)
}
