package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"swarm/overlay/dataplane"
	"swarm/overlay/netstate"
	"swarm/overlay/plugin"
)

var _ plugin.NetworkDriver = (*Agent)(nil)

// CreateNetwork sets up the engine's copy of a cluster network: it records which network it stands for and
// makes the network's bridge and VXLAN device.
func (a *Agent) CreateNetwork(ctx context.Context, req *plugin.CreateNetworkRequest) error {
	id := plugin.DriverOptions(req.Options)[OptNetwork]
	if id == "" {
		return fmt.Errorf("%s networks are made through the swarm manager: docker network create -d overlay NAME", plugin.Name)
	}
	n, err := a.clusterNetwork(ctx, id)
	if err != nil {
		return err
	}
	pn, err := planeNetwork(n)
	if err != nil {
		return err
	}
	if err := a.cfg.Plane.EnsureNetwork(pn); err != nil {
		if errors.Is(err, dataplane.ErrNoVXLAN) {
			return fmt.Errorf("%w (network %s)", dataplane.ErrNoVXLAN, n.Name)
		}
		return fmt.Errorf("setting up network %s on this host: %w", n.Name, err)
	}
	if err := a.cfg.State.PutAttachment(ctx, a.cfg.Host, req.NetworkID, n.ID); err != nil {
		return err
	}
	a.mu.Lock()
	a.nets[req.NetworkID] = n
	a.mu.Unlock()
	a.serveDNS(n)
	a.poke()
	return nil
}

// DeleteNetwork forgets the engine's copy, and removes the devices when no other copy on this host uses them.
func (a *Agent) DeleteNetwork(ctx context.Context, req *plugin.DeleteNetworkRequest) error {
	n, err := a.network(ctx, req.NetworkID)
	if err != nil {
		return nil // not ours, or already gone
	}
	if err := a.cfg.State.DeleteAttachment(ctx, a.cfg.Host, req.NetworkID); err != nil {
		return err
	}
	a.mu.Lock()
	delete(a.nets, req.NetworkID)
	inUse := false
	for _, o := range a.nets {
		inUse = inUse || o.ID == n.ID
	}
	a.mu.Unlock()
	if !inUse {
		a.releaseHostAddress(ctx, n)
		if a.cfg.Resolver != nil {
			a.cfg.Resolver.Stop(net.ParseIP(n.Gateway))
		}
		return a.cfg.Plane.RemoveNetwork(n.VNI)
	}
	return nil
}

// CreateEndpoint publishes the endpoint (its address, and a MAC derived from it when the engine gave none).
func (a *Agent) CreateEndpoint(ctx context.Context, req *plugin.CreateEndpointRequest) (*plugin.CreateEndpointResponse, error) {
	n, err := a.network(ctx, req.NetworkID)
	if err != nil {
		return nil, err
	}
	if req.Interface == nil || req.Interface.Address == "" {
		return nil, fmt.Errorf("endpoint %s on network %s has no IPv4 address", short(req.EndpointID), n.Name)
	}
	ip, _, err := net.ParseCIDR(req.Interface.Address)
	if err != nil {
		return nil, fmt.Errorf("endpoint %s: bad address %q", short(req.EndpointID), req.Interface.Address)
	}
	var resp plugin.CreateEndpointResponse
	mac := req.Interface.MacAddress
	if mac == "" {
		mac = macFor(ip).String()
		resp.Interface = &plugin.EndpointInterface{MacAddress: mac}
	}
	ep := netstate.Endpoint{Network: n.ID, ID: req.EndpointID, Host: a.cfg.Host, VTEP: a.cfg.VTEP.String(), IP: ip.String(), MAC: mac}
	if err := a.cfg.State.PutEndpoint(ctx, ep); err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.mine[ep.ID] = ep
	a.publishedAt[ep.ID] = time.Now()
	a.mu.Unlock()
	return &resp, nil
}

// DeleteEndpoint withdraws the endpoint and removes its veth pair if it is still there.
func (a *Agent) DeleteEndpoint(ctx context.Context, req *plugin.DeleteEndpointRequest) error {
	n, err := a.network(ctx, req.NetworkID)
	if err != nil {
		return nil
	}
	if err := a.cfg.Plane.RemoveEndpoint(req.EndpointID); err != nil {
		a.log.Warn("removing an endpoint's interfaces", "endpoint", short(req.EndpointID), "err", err)
	}
	a.mu.Lock()
	delete(a.mine, req.EndpointID)
	delete(a.publishedAt, req.EndpointID)
	a.mu.Unlock()
	return a.cfg.State.DeleteEndpoint(ctx, netstate.Endpoint{Network: n.ID, ID: req.EndpointID, Host: a.cfg.Host})
}

// EndpointOperInfo has nothing to add to what the engine knows.
func (a *Agent) EndpointOperInfo(context.Context, *plugin.EndpointInfoRequest) (*plugin.EndpointInfoResponse, error) {
	return &plugin.EndpointInfoResponse{Value: map[string]any{}}, nil
}

// Join makes the container's veth pair on the network's bridge and hands its container end to the engine. It
// gives no gateway: the engine then connects the container to its docker_gwbridge for the rest of the world,
// unless the network is internal.
func (a *Agent) Join(ctx context.Context, req *plugin.JoinRequest) (*plugin.JoinResponse, error) {
	n, err := a.network(ctx, req.NetworkID)
	if err != nil {
		return nil, err
	}
	mac, err := a.endpointMAC(ctx, n, req.EndpointID)
	if err != nil {
		return nil, err
	}
	name, err := a.cfg.Plane.AddEndpoint(n.VNI, dataplane.Endpoint{ID: req.EndpointID, MAC: mac})
	if err != nil {
		return nil, fmt.Errorf("attaching to network %s: %w", n.Name, err)
	}
	a.mu.Lock()
	ep, ok := a.mine[req.EndpointID]
	a.mu.Unlock()
	if ok {
		go a.learnNames(req.NetworkID, ep)
	}
	return &plugin.JoinResponse{InterfaceName: &plugin.InterfaceName{SrcName: name, DstPrefix: "eth"},
		DisableGatewayService: n.Internal}, nil
}

// endpointMAC is the MAC published for the endpoint at CreateEndpoint.
func (a *Agent) endpointMAC(ctx context.Context, n *netstate.Network, id string) (net.HardwareAddr, error) {
	eps, _, err := a.cfg.State.Endpoints(ctx, 0)
	if err != nil {
		return nil, err
	}
	for _, e := range eps {
		if e.Network == n.ID && e.ID == id && e.Host == a.cfg.Host {
			return net.ParseMAC(e.MAC)
		}
	}
	return nil, fmt.Errorf("endpoint %s on network %s was never created on this host", short(id), n.Name)
}

// Leave removes the container's veth pair (the engine has taken the container end back out of the container).
func (a *Agent) Leave(_ context.Context, req *plugin.LeaveRequest) error {
	return a.cfg.Plane.RemoveEndpoint(req.EndpointID)
}

// macFor is the MAC Docker gives an address: 02:42 and the four bytes of the IPv4 address.
func macFor(ip net.IP) net.HardwareAddr {
	v4 := ip.To4()
	return net.HardwareAddr{0x02, 0x42, v4[0], v4[1], v4[2], v4[3]}
}
