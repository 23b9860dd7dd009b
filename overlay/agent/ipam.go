package agent

import (
	"context"
	"fmt"
	"net"

	"swarm/overlay/netstate"
	"swarm/overlay/plugin"
)

var _ plugin.IPAM = (*Agent)(nil)

// Address spaces the IPAM driver reports; the pools are the cluster networks' subnets whatever the space.
const (
	localSpace  = plugin.Name + "-local"
	globalSpace = plugin.Name + "-global"
)

// gatewayType is the RequestAddress option value the engine sets when it asks for a network's gateway.
const (
	requestAddressType = "RequestAddressType"
	gatewayType        = "com.docker.network.gateway"
)

// GetDefaultAddressSpaces names the two spaces.
func (a *Agent) GetDefaultAddressSpaces(context.Context) (*plugin.AddressSpaces, error) {
	return &plugin.AddressSpaces{LocalDefaultAddressSpace: localSpace, GlobalDefaultAddressSpace: globalSpace}, nil
}

// RequestPool answers with the cluster network's subnet; the pool ID is the cluster network's ID.
func (a *Agent) RequestPool(ctx context.Context, req *plugin.RequestPoolRequest) (*plugin.RequestPoolResponse, error) {
	if req.V6 {
		return nil, fmt.Errorf("cluster networks are IPv4 only")
	}
	id := req.Options[OptNetwork]
	if id == "" {
		return nil, fmt.Errorf("the %s IPAM driver serves cluster networks only: docker network create -d overlay NAME through the swarm manager", plugin.Name)
	}
	n, err := a.clusterNetwork(ctx, id)
	if err != nil {
		return nil, err
	}
	if req.Pool != "" && req.Pool != n.Subnet {
		return nil, fmt.Errorf("network %s has the subnet %s, not %s", n.Name, n.Subnet, req.Pool)
	}
	return &plugin.RequestPoolResponse{PoolID: n.ID, Pool: n.Subnet}, nil
}

// ReleasePool has nothing to free: the addresses are released one by one.
func (a *Agent) ReleasePool(context.Context, *plugin.ReleasePoolRequest) error { return nil }

// RequestAddress gives the network's gateway when asked for it, otherwise claims the address asked for (or any
// free one) for this host in Consul.
func (a *Agent) RequestAddress(ctx context.Context, req *plugin.RequestAddressRequest) (*plugin.RequestAddressResponse, error) {
	n, err := a.clusterNetwork(ctx, req.PoolID)
	if err != nil {
		return nil, err
	}
	_, subnet, err := net.ParseCIDR(n.Subnet)
	if err != nil {
		return nil, fmt.Errorf("network %s has a bad subnet %q", n.Name, n.Subnet)
	}
	ones, _ := subnet.Mask.Size()
	if req.Options[requestAddressType] == gatewayType {
		return &plugin.RequestAddressResponse{Address: fmt.Sprintf("%s/%d", n.Gateway, ones)}, nil
	}
	var want net.IP
	if req.Address != "" {
		if want = net.ParseIP(req.Address); want == nil {
			return nil, fmt.Errorf("invalid address %q", req.Address)
		}
	}
	ip, err := a.cfg.State.ClaimAddress(ctx, n.ID, want, netstate.Holder{Host: a.cfg.Host})
	if err != nil {
		return nil, err
	}
	return &plugin.RequestAddressResponse{Address: fmt.Sprintf("%s/%d", ip, ones)}, nil
}

// ReleaseAddress frees an address this host claimed (never the gateway, which is not claimed).
func (a *Agent) ReleaseAddress(ctx context.Context, req *plugin.ReleaseAddressRequest) error {
	n, err := a.clusterNetwork(ctx, req.PoolID)
	if err != nil {
		return nil
	}
	ip := net.ParseIP(req.Address)
	if ip == nil || ip.Equal(net.ParseIP(n.Gateway)) {
		return nil
	}
	return a.cfg.State.ReleaseAddress(ctx, n.ID, ip, netstate.Holder{Host: a.cfg.Host})
}
