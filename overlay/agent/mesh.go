package agent

import (
	"context"
	"fmt"
	"net"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"swarm/overlay/dataplane"
	"swarm/overlay/mesh"
	"swarm/overlay/netstate"
)

// Mesh is the routing mesh's kernel side (mesh.Mesh): Apply replaces every frontend, Flush removes them all.
type Mesh interface {
	Apply(fes []mesh.Frontend) error
	Flush() error
}

// hostEndpointPrefix starts the ID of the endpoint that stands for this host's own address on a network (held
// by the network's bridge): the routing mesh's connections leave with it, and the other hosts reach it as any
// endpoint. It is no engine's, so no sweep removes it; it goes with the host's last copy of the network.
const hostEndpointPrefix = "host-"

func hostEndpointID(network string) string { return hostEndpointPrefix + network }

// followServices sends every read of the services' records, at each change, until ctx ends.
func (a *Agent) followServices(ctx context.Context, out chan<- []netstate.Service) {
	watch(ctx, a, "the services", a.cfg.State.Services, func(svcs []netstate.Service, _ bool) {
		select {
		case out <- svcs:
		case <-ctx.Done():
		}
	})
}

// localNet is a cluster network this host has, with this host's address on it (nil: none yet).
type localNet struct {
	n      *netstate.Network
	hostIP net.IP
}

// programMesh gives this host an address on each network a service needs one on, puts that address and the
// services' virtual IPs on the networks' bridges, and programs the mesh's frontends (when any changed).
func (a *Agent) programMesh(ctx context.Context) {
	a.mu.Lock()
	svcs, eps := a.services, a.lastSeen
	if eps == nil { // no read of the endpoints yet: this host's own address there may be published already
		a.mu.Unlock()
		return
	}
	local := map[string]localNet{}
	for _, n := range a.nets {
		local[n.ID] = localNet{n: n, hostIP: a.hostAddrs[n.ID]}
	}
	a.mu.Unlock()
	for id, l := range local {
		if l.hostIP == nil && needsHostAddress(l.n, svcs) {
			ip, err := a.hostAddress(ctx, l.n, eps)
			a.warnIf("claiming this host's address on network "+l.n.Name, err)
			l.hostIP = ip
			local[id] = l
		}
	}
	for _, l := range local {
		a.setLocalAddresses(l, svcs)
	}
	fes := frontends(svcs, eps, local)
	a.mu.Lock()
	same := reflect.DeepEqual(fes, a.applied)
	a.mu.Unlock()
	if a.cfg.Mesh == nil || same {
		return
	}
	if err := a.cfg.Mesh.Apply(fes); err != nil {
		a.log.Warn("routing mesh: cannot program this host's frontends", "err", err)
		return
	}
	a.mu.Lock()
	a.applied = fes
	a.mu.Unlock()
}

// Frontends are the mesh's frontends as last applied (for metrics).
func (a *Agent) Frontends() []mesh.Frontend {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.applied)
}

// needsHostAddress tells whether a service has a virtual IP on n, or ingress ports when n is the ingress network.
func needsHostAddress(n *netstate.Network, svcs []netstate.Service) bool {
	for _, s := range svcs {
		if s.VIPs[n.ID] != "" || (n.Ingress && len(s.Ports) > 0) {
			return true
		}
	}
	return false
}

// setLocalAddresses puts this host's address and the virtual IPs of l on its bridge, when they changed.
func (a *Agent) setLocalAddresses(l localNet, svcs []netstate.Service) {
	var ips []net.IP
	if l.hostIP != nil {
		ips = append(ips, l.hostIP)
		for _, s := range svcs {
			if ip := net.ParseIP(s.VIPs[l.n.ID]); ip != nil && s.Mode != netstate.ServiceModeDNSRR {
				ips = append(ips, ip)
			}
		}
	}
	key := fmt.Sprint(ips)
	a.mu.Lock()
	same := a.bridgeAddrs[l.n.VNI] == key
	a.mu.Unlock()
	if same {
		return
	}
	if err := a.cfg.Plane.SetLocalAddresses(l.n.VNI, ips); err != nil {
		a.log.Warn("routing mesh: cannot set the bridge's addresses", "network", l.n.Name, "err", err)
		return
	}
	a.mu.Lock()
	a.bridgeAddrs[l.n.VNI] = key
	a.mu.Unlock()
}

// hostAddress is this host's address on n: the one it published (after a restart), else a new claim; it is
// published as an endpoint with the bridge's MAC, so the other hosts reach it.
func (a *Agent) hostAddress(ctx context.Context, n *netstate.Network, eps []netstate.Endpoint) (net.IP, error) {
	mac, err := a.cfg.Plane.BridgeMAC(n.VNI)
	if err != nil {
		return nil, err
	}
	ep := netstate.Endpoint{Network: n.ID, ID: hostEndpointID(n.ID), Host: a.cfg.Host, VTEP: a.cfg.VTEP.String(), MAC: mac.String()}
	a.mu.Lock()
	ip := net.ParseIP(a.mine[ep.ID].IP) // published before a restart: read back at start (restore)
	a.mu.Unlock()
	for _, e := range eps {
		if ip == nil && e.Network == n.ID && e.ID == ep.ID && e.Host == a.cfg.Host {
			ip = net.ParseIP(e.IP)
		}
	}
	if ip == nil {
		if ip, err = a.cfg.State.ClaimAddress(ctx, n.ID, nil, netstate.Holder{Host: a.cfg.Host}); err != nil {
			return nil, err
		}
	}
	ep.IP = ip.String()
	if err := a.cfg.State.PutEndpoint(ctx, ep); err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.hostAddrs[n.ID] = ip
	a.mine[ep.ID] = ep
	a.publishedAt[ep.ID] = time.Now()
	a.mu.Unlock()
	return ip, nil
}

// releaseHostAddress withdraws this host's address on n (its last copy of n is gone).
func (a *Agent) releaseHostAddress(ctx context.Context, n *netstate.Network) {
	id := hostEndpointID(n.ID)
	a.mu.Lock()
	ep, ok := a.mine[id]
	delete(a.mine, id)
	delete(a.publishedAt, id)
	delete(a.hostAddrs, n.ID)
	delete(a.bridgeAddrs, n.VNI)
	a.mu.Unlock()
	if !ok {
		return
	}
	a.warnIf("withdrawing this host's address on "+n.Name, a.cfg.State.DeleteEndpoint(ctx, ep))
	if ip := net.ParseIP(ep.IP); ip != nil {
		a.warnIf("releasing "+ep.IP, a.cfg.State.ReleaseAddress(ctx, n.ID, ip, netstate.Holder{Host: a.cfg.Host}))
	}
}

// frontends are what this host programs: for each service in vip mode, its virtual IP on each network here;
// for each ingress port, the port on every address of the host; each spread over the service's tasks on that
// network (but those draining or unhealthy: inService), leaving with this host's address there. Sorted, so
// equal inputs give equal frontends.
func frontends(svcs []netstate.Service, eps []netstate.Endpoint, local map[string]localNet) []mesh.Frontend {
	tasks := map[string]map[string][]net.IP{} // network -> service name -> task addresses
	for _, e := range eps {
		if ip := net.ParseIP(e.IP); e.Service != "" && ip != nil && inService(e) {
			if tasks[e.Network] == nil {
				tasks[e.Network] = map[string][]net.IP{}
			}
			tasks[e.Network][e.Service] = append(tasks[e.Network][e.Service], ip)
		}
	}
	var ingress *localNet
	for _, l := range local {
		if l.n.Ingress && l.hostIP != nil {
			ingress = &l
		}
	}
	var out []mesh.Frontend
	for _, s := range svcs {
		if s.Mode != netstate.ServiceModeDNSRR {
			for netID, vip := range s.VIPs {
				if l, ok := local[netID]; ok && l.hostIP != nil && net.ParseIP(vip) != nil {
					out = append(out, frontend(s.Name, l, tasks[netID][s.Name], mesh.Frontend{Addr: net.ParseIP(vip).To4()}, 0))
				}
			}
		}
		for _, p := range s.Ports {
			if ingress != nil {
				out = append(out, frontend(s.Name, *ingress, tasks[ingress.n.ID][s.Name], mesh.Frontend{Proto: p.Protocol, Port: p.Published}, p.Target))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return frontendKey(out[i]) < frontendKey(out[j]) })
	return out
}

// frontend completes fe: s's tasks on l as its backends (on port, 0: the connection's), l's bridge and address.
func frontend(service string, l localNet, tasks []net.IP, fe mesh.Frontend, port uint16) mesh.Frontend {
	fe.Service, fe.Bridge, fe.SNAT = service, dataplane.BridgeName(l.n.VNI), l.hostIP.To4()
	tasks = slices.Clone(tasks)
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].String() < tasks[j].String() })
	for _, ip := range tasks {
		fe.Backends = append(fe.Backends, mesh.Backend{IP: ip.To4(), Port: port})
	}
	return fe
}

func frontendKey(fe mesh.Frontend) string {
	return strings.Join([]string{fe.Service, fe.Proto, fmt.Sprint(fe.Addr), fmt.Sprint(fe.Port)}, "|")
}
