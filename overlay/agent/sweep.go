package agent

import (
	"context"
	"maps"
	"net"
	"strings"

	"github.com/docker/docker/errdefs"

	"swarm/overlay/netstate"
	"swarm/overlay/plugin"
)

// sweep removes those of eps (this host's endpoints as found at start) that the engine no longer has: their
// record, their address and their interfaces; and the engine networks the engine no longer has.
func (a *Agent) sweep(ctx context.Context, eps []netstate.Endpoint) {
	if a.cfg.Engine == nil {
		return
	}
	live := map[string]bool{}
	for engineID, n := range a.engineNetworks() {
		ids, err := a.cfg.Engine.Endpoints(ctx, engineID)
		switch {
		case errdefs.IsNotFound(err):
			a.log.Info("cluster networks: the engine removed a network while this join was down", "network", n.Name)
			a.warnIf("forgetting engine network "+short(engineID), a.DeleteNetwork(ctx, &plugin.DeleteNetworkRequest{NetworkID: engineID}))
		case err != nil:
			a.log.Warn("cluster networks: cannot read the engine's endpoints; none swept", "network", n.Name, "err", err)
			return
		}
		for id := range ids {
			live[id] = true
		}
	}
	for _, e := range eps {
		if !live[e.ID] && !strings.HasPrefix(e.ID, hostEndpointPrefix) {
			a.drop(ctx, e)
		}
	}
}

// engineNetworks is a copy of the engine networks known.
func (a *Agent) engineNetworks() map[string]*netstate.Network {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.nets)
}

// drop removes endpoint e of this host everywhere.
func (a *Agent) drop(ctx context.Context, e netstate.Endpoint) {
	a.log.Info("cluster networks: removing an endpoint whose container left while this join was down", "endpoint", short(e.ID), "container", e.Container)
	a.warnIf("removing the interfaces of "+short(e.ID), a.cfg.Plane.RemoveEndpoint(e.ID))
	a.mu.Lock()
	delete(a.mine, e.ID)
	delete(a.publishedAt, e.ID)
	a.mu.Unlock()
	a.warnIf("withdrawing endpoint "+short(e.ID), a.cfg.State.DeleteEndpoint(ctx, e))
	if ip := net.ParseIP(e.IP); ip != nil {
		a.warnIf("releasing "+e.IP, a.cfg.State.ReleaseAddress(ctx, e.Network, ip, netstate.Holder{Host: a.cfg.Host}))
	}
}
