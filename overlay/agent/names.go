package agent

import (
	"context"
	"net"
	"strings"
	"time"

	"swarm/overlay/netstate"
)

// Engine is what the agent reads from the engine beside it.
type Engine interface {
	// Names tells which container holds an endpoint of an engine network (ok false: the engine does not show
	// it yet).
	Names(ctx context.Context, engineNetwork, endpoint string) (n Naming, ok bool, err error)
	// Endpoints returns the IDs of the endpoints the engine has on an engine network; a network the engine
	// does not have is an errdefs not-found error.
	Endpoints(ctx context.Context, engineNetwork string) (map[string]bool, error)
	// FollowHealth calls changed with each change of health of the engine's containers, one call at a time,
	// until ctx ends. Each time it (re)connects to the engine's events it first calls it with the health every
	// container with a health check has then, since changes may have been missed meanwhile.
	FollowHealth(ctx context.Context, changed func(HealthChange))
}

// Naming is what names an endpoint's container: its name, its aliases on the network, the service it is a
// task of ("" for none), and its health ("" when it has no health check, else starting, healthy or unhealthy).
type Naming struct {
	Container string
	Aliases   []string
	Service   string
	Health    string
}

// Resolver serves DNS for a cluster network on its gateway address (resolver.Server).
type Resolver interface {
	Listen(network string, ip net.IP) error
	Stop(ip net.IP)
}

// book is the names of every endpoint, rebuilt at each read of the endpoints.
type book struct {
	names  map[string]map[string][]net.IP // cluster network -> name -> addresses
	owner  map[string]map[string]string   // cluster network -> address -> host/container
	netsOf map[string][]string            // host/container -> its cluster networks
}

// newBook indexes the names of eps; a service in vip mode answers with its virtual IP on each network rather than
// with its tasks (tasks.SERVICE still does).
func newBook(eps []netstate.Endpoint, svcs []netstate.Service) *book {
	b := &book{names: map[string]map[string][]net.IP{}, owner: map[string]map[string]string{}, netsOf: map[string][]string{}}
	vip := map[string]map[string]net.IP{} // network -> service name -> virtual IP
	for _, s := range svcs {
		for network, addr := range s.VIPs {
			if ip := net.ParseIP(addr); ip != nil && s.Mode != netstate.ServiceModeDNSRR {
				if vip[network] == nil {
					vip[network] = map[string]net.IP{}
				}
				vip[network][strings.ToLower(s.Name)] = ip
			}
		}
	}
	for _, e := range eps {
		ip := net.ParseIP(e.IP)
		if ip == nil || e.Container == "" {
			continue
		}
		if b.names[e.Network] == nil {
			b.names[e.Network], b.owner[e.Network] = map[string][]net.IP{}, map[string]string{}
		}
		for _, name := range names(e) {
			name = strings.ToLower(name)
			if vip[e.Network][name] == nil || name != strings.ToLower(e.Service) {
				b.names[e.Network][name] = append(b.names[e.Network][name], ip)
			}
		}
		who := e.Host + "/" + e.Container
		b.owner[e.Network][ip.String()] = who
		b.netsOf[who] = append(b.netsOf[who], e.Network)
	}
	for network, byName := range vip {
		if b.names[network] == nil {
			b.names[network] = map[string][]net.IP{}
		}
		for name, ip := range byName {
			b.names[network][name] = []net.IP{ip}
		}
	}
	return b
}

// names are what an endpoint answers to: its container's name and aliases, and for a task in service (neither
// draining nor unhealthy) its service's name and tasks.SERVICE (the service's name answers with its virtual IP
// instead in vip mode: newBook).
func names(e netstate.Endpoint) []string {
	out := append([]string{e.Container}, e.Aliases...)
	if e.Service != "" && inService(e) {
		out = append(out, e.Service, "tasks."+e.Service)
	}
	return out
}

// Lookup answers for the networks of the container that asked (from, on network), or network alone when it is
// not known; nil when no container there has that name or alias.
func (a *Agent) Lookup(network string, from net.IP, name string) []net.IP {
	a.mu.Lock()
	b := a.book
	a.mu.Unlock()
	if b == nil {
		return nil
	}
	nets := []string{network}
	if who := b.owner[network][from.String()]; who != "" {
		nets = append(nets, b.netsOf[who]...)
	}
	for _, n := range nets {
		if ips := b.names[n][strings.ToLower(name)]; ips != nil {
			return ips
		}
	}
	return nil
}

// nameWait is how long an endpoint's container is looked for on the engine after it joined.
const (
	nameWait = 30 * time.Second
	namePoll = 100 * time.Millisecond
)

// learnNames publishes the name and aliases of ep's container once the engine shows them (it does once the
// join it is making returns), with its health: a task with a health check is in service only once it passed.
func (a *Agent) learnNames(engineNetwork string, ep netstate.Endpoint) {
	if a.cfg.Engine == nil {
		return
	}
	ctx, cancel := context.WithTimeout(a.life(), nameWait)
	defer cancel()
	for {
		asked := a.healthHeard()
		n, ok, err := a.cfg.Engine.Names(ctx, engineNetwork, ep.ID)
		if err == nil && ok {
			ep.Container, ep.Aliases, ep.Service = n.Container, n.Aliases, n.Service
			a.mu.Lock()
			ep.Unhealthy = a.unhealthySince(n, asked)
			if _, ok := a.mine[ep.ID]; ok {
				a.mine[ep.ID] = ep
			}
			a.mu.Unlock()
			if _, err := a.cfg.State.NameEndpoint(ctx, ep); err != nil {
				a.log.Warn("cluster networks: cannot publish a container's name", "container", n.Container, "err", err)
			}
			return
		}
		select {
		case <-ctx.Done():
			a.log.Warn("cluster networks: an endpoint's container never showed on the engine; its name will not resolve", "endpoint", short(ep.ID))
			return
		case <-time.After(namePoll):
		}
	}
}
