package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"

	"swarm/cluster"
	"swarm/overlay/copies"
	"swarm/overlay/netstate"
)

// Ports swarm gives an ingress port published without a number.
const (
	dynamicPortFirst = 30000
	dynamicPortLast  = 32767
)

// ingressPorts are the ports of spec published in ingress mode (the routing mesh).
func ingressPorts(ports []swarm.PortConfig) []swarm.PortConfig {
	var out []swarm.PortConfig
	for _, p := range ports {
		if p.PublishMode == swarm.PortConfigPublishModeIngress {
			out = append(out, p)
		}
	}
	return out
}

// specPorts are spec's published ports.
func specPorts(spec swarm.ServiceSpec) []swarm.PortConfig {
	if spec.EndpointSpec == nil {
		return nil
	}
	return spec.EndpointSpec.Ports
}

func portKey(proto swarm.PortConfigProtocol, port uint32) string {
	return fmt.Sprintf("%d/%s", port, proto)
}

// endpoint works out the endpoint of service id for spec: its ports, ingress ones numbered (reusing prev's
// numbers, else a free one from swarm's dynamic range) and checked against every other holder, and in vip
// mode a virtual IP on each of its cluster networks (prev's kept). claimed lists the addresses claimed now,
// for release should the service not be written.
func (o *API) endpoint(ctx context.Context, id string, spec swarm.ServiceSpec, prev swarm.Endpoint) (ep swarm.Endpoint, claimed []swarm.EndpointVirtualIP, err error) {
	ep = swarm.Endpoint{Spec: *spec.EndpointSpec, Ports: append([]swarm.PortConfig{}, spec.EndpointSpec.Ports...)}
	if err := o.numberPorts(id, ep.Ports, prev.Ports); err != nil {
		return ep, nil, err
	}
	nets, err := o.vipNetworks(ctx, spec)
	if err != nil || spec.EndpointSpec.Mode == swarm.ResolutionModeDNSRR {
		return ep, nil, err
	}
	for _, n := range nets {
		vip := findVIP(prev.VirtualIPs, n.ID)
		if vip == nil {
			ip, err := o.cfg.Networks.ClaimAddress(ctx, n.ID, nil, netstate.Holder{Service: id})
			if err != nil {
				o.releaseVIPs(ctx, id, claimed)
				return ep, nil, fmt.Errorf("a virtual IP on network %s: %w", n.Name, err)
			}
			_, subnet, _ := net.ParseCIDR(n.Subnet)
			vip = &swarm.EndpointVirtualIP{NetworkID: n.ID, Addr: (&net.IPNet{IP: ip, Mask: subnet.Mask}).String()}
			claimed = append(claimed, *vip)
		}
		ep.VirtualIPs = append(ep.VirtualIPs, *vip)
	}
	return ep, claimed, nil
}

func findVIP(vips []swarm.EndpointVirtualIP, network string) *swarm.EndpointVirtualIP {
	for _, v := range vips {
		if v.NetworkID == network {
			return &v
		}
	}
	return nil
}

// vipNetworks are the cluster networks spec's tasks are on: its own, then the ingress network (made if need
// be) when it publishes ingress ports.
func (o *API) vipNetworks(ctx context.Context, spec swarm.ServiceSpec) ([]*netstate.Network, error) {
	var out []*netstate.Network
	for _, a := range spec.TaskTemplate.Networks {
		cn, err := o.clusterNetwork(ctx, a.Target)
		if err != nil {
			return nil, err
		}
		if cn != nil {
			out = append(out, cn)
		}
	}
	if len(ingressPorts(specPorts(spec))) == 0 {
		return out, nil
	}
	in, err := o.ingress(ctx)
	if err != nil {
		return nil, err
	}
	return append(out, in), nil
}

// ingress returns the ingress network, making it (and its copy on every healthy engine) the first time.
func (o *shared) ingress(ctx context.Context) (*netstate.Network, error) {
	if cn, err := o.clusterNetwork(ctx, netstate.IngressName); err != nil || cn != nil {
		return cn, err
	}
	cn, err := o.cfg.Networks.Create(ctx, netstate.Spec{Name: netstate.IngressName, Ingress: true})
	if errdefs.IsConflict(err) { // made meanwhile by another create
		return o.cfg.Networks.Get(ctx, netstate.IngressName)
	}
	if err != nil {
		return nil, fmt.Errorf("making the ingress network: %w", err)
	}
	var failed []string
	for _, res := range cluster.FanOut(ctx, cluster.Healthy(o.cl.Engines()), func(ctx context.Context, e *cluster.Engine) (struct{}, error) {
		return struct{}{}, copies.Ensure(ctx, e, cn)
	}) {
		if res.Err != nil {
			failed = append(failed, res.Err.Error())
		}
	}
	if len(failed) > 0 && len(failed) == len(cluster.Healthy(o.cl.Engines())) {
		if err := o.cfg.Networks.Remove(context.WithoutCancel(ctx), cn.ID); err != nil {
			o.log.Warn("removing an ingress network no node took", "err", err)
		}
		return nil, errdefs.Unavailable(fmt.Errorf("the routing mesh needs a swarm join --plugin-dir beside the engines: no node "+
			"could make the ingress network (%s); publish ports on the task's node instead: --publish mode=host,target=PORT,published=PORT",
			strings.Join(failed, "; ")))
	}
	if len(failed) > 0 {
		o.log.Warn("the ingress network's copy will be made later on some nodes", "err", strings.Join(failed, "; "))
	}
	return cn, nil
}

// numberPorts gives the ingress ports published without a number one (prev's, else the first free of the
// dynamic range), and refuses a number another service or a container holds.
func (o *API) numberPorts(id string, ports, prev []swarm.PortConfig) error {
	held := o.portHolders(id)
	for i := range ports {
		p := &ports[i]
		if p.PublishMode != swarm.PortConfigPublishModeIngress {
			continue
		}
		if p.PublishedPort == 0 {
			p.PublishedPort = reusedPort(*p, prev)
		}
		if p.PublishedPort == 0 {
			for n := uint32(dynamicPortFirst); n <= dynamicPortLast && p.PublishedPort == 0; n++ {
				if held[portKey(p.Protocol, n)] == "" {
					p.PublishedPort = n
				}
			}
			if p.PublishedPort == 0 {
				return errdefs.Unavailable(errors.New("no free port left in the dynamic range 30000-32767"))
			}
		}
		key := portKey(p.Protocol, p.PublishedPort)
		if h := held[key]; h != "" {
			return errdefs.Conflict(fmt.Errorf("port '%d' is already in use by %s", p.PublishedPort, h))
		}
		held[key] = "this service"
	}
	return nil
}

// reusedPort is the number prev gave the ingress port of p's target and protocol (0: none).
func reusedPort(p swarm.PortConfig, prev []swarm.PortConfig) uint32 {
	for _, q := range ingressPorts(prev) {
		if q.TargetPort == p.TargetPort && q.Protocol == p.Protocol {
			return q.PublishedPort
		}
	}
	return 0
}

// portHolders names, by "port/proto", who holds each port published on the hosts: other services' ingress
// ports (on every host), and containers' published ports (classic -p, host-mode tasks) but service id's own.
func (o *API) portHolders(id string) map[string]string {
	out := map[string]string{}
	for _, s := range o.store.Services() {
		if s.ID == id {
			continue
		}
		for _, p := range ingressPorts(s.Endpoint.Ports) {
			out[portKey(p.Protocol, p.PublishedPort)] = fmt.Sprintf("service '%s' (%s) as an ingress port", s.Spec.Name, s.ID)
		}
	}
	for _, e := range o.cl.Engines() {
		for _, c := range e.Containers() {
			if c.Labels[LabelServiceID] == id {
				continue
			}
			for _, p := range c.Ports {
				if p.PublicPort != 0 {
					out[portKey(swarm.PortConfigProtocol(p.Type), uint32(p.PublicPort))] = fmt.Sprintf("container %s on node %s", containerLabel(c), e.Name())
				}
			}
		}
	}
	return out
}

func containerLabel(c *cluster.Container) string {
	if len(c.Names) > 0 {
		return strings.TrimPrefix(c.Names[0], "/")
	}
	return c.ID[:min(12, len(c.ID))]
}

// releaseVIPs frees the virtual IPs vips of service id.
func (o *shared) releaseVIPs(ctx context.Context, id string, vips []swarm.EndpointVirtualIP) {
	if o.cfg.Networks == nil {
		return
	}
	for _, v := range vips {
		ip, _, err := net.ParseCIDR(v.Addr)
		if err != nil {
			continue
		}
		if err := o.cfg.Networks.ReleaseAddress(ctx, v.NetworkID, ip, netstate.Holder{Service: id}); err != nil {
			o.log.Warn("releasing a service's virtual IP", "service", id, "vip", v.Addr, "err", err)
		}
	}
}

// droppedVIPs are those of old not in cur (networks the service left).
func droppedVIPs(old, cur []swarm.EndpointVirtualIP) []swarm.EndpointVirtualIP {
	var out []swarm.EndpointVirtualIP
	for _, v := range old {
		if findVIP(cur, v.NetworkID) == nil {
			out = append(out, v)
		}
	}
	return out
}
