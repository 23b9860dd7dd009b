package agent

import (
	"context"
	"net"
	"time"

	"swarm/internal/backoff"
	"swarm/overlay/dataplane"
	"swarm/overlay/netstate"
)

// Run follows every endpoint of the cluster until ctx ends, keeping each local network's forwarding entries to
// exactly the endpoints of the other hosts. It first replays this host's networks from Consul (after a restart
// the kernel still holds them; this makes sure). Consul being unreachable is retried with backoff; the kernel
// keeps the last entries meanwhile.
func (a *Agent) Run(ctx context.Context) error {
	a.mu.Lock()
	a.ctx = ctx
	a.mu.Unlock()
	a.restore(ctx)
	reads := make(chan []netstate.Endpoint)
	go a.follow(ctx, reads)
	for {
		select {
		case <-ctx.Done():
			return nil
		case eps := <-reads:
			a.mu.Lock()
			a.lastSeen, a.book = eps, newBook(eps)
			a.mu.Unlock()
			a.program()
		case <-a.kick:
			a.program()
		}
	}
}

// follow sends every endpoint read from Consul, at each change, until ctx ends.
func (a *Agent) follow(ctx context.Context, out chan<- []netstate.Endpoint) {
	var index uint64
	retry := backoff.Delay{Min: 500 * time.Millisecond, Max: 10 * time.Second, Jitter: true}
	for ctx.Err() == nil {
		eps, next, err := a.cfg.State.Endpoints(ctx, index)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("cluster networks: cannot read the endpoints from Consul; retrying", "err", err)
			}
			retry.Wait(ctx)
			index = 0
			continue
		}
		retry.Reset()
		if next < index {
			next = 0 // Consul's index went backwards (restarted without its data): read afresh
		}
		if next == index {
			continue // woken with nothing new
		}
		index = next
		select {
		case out <- eps:
		case <-ctx.Done():
		}
	}
}

// restore reads this host's attachments and endpoints back and makes sure their devices exist.
func (a *Agent) restore(ctx context.Context) {
	if eps, _, err := a.cfg.State.Endpoints(ctx, 0); err == nil {
		a.mu.Lock()
		for _, e := range eps {
			if e.Host == a.cfg.Host {
				a.mine[e.ID] = e
			}
		}
		a.mu.Unlock()
	}
	att, err := a.cfg.State.Attachments(ctx, a.cfg.Host)
	if err != nil {
		a.log.Warn("cluster networks: cannot read this host's networks from Consul yet", "err", err)
		return
	}
	for engineID := range att {
		n, err := a.network(ctx, engineID)
		if err != nil {
			a.log.Warn("cluster networks: an engine network stands for a network that is gone", "network", short(engineID), "err", err)
			continue
		}
		if pn, err := planeNetwork(n); err == nil {
			if err := a.cfg.Plane.EnsureNetwork(pn); err != nil {
				a.log.Warn("cluster networks: cannot set up network", "network", n.Name, "err", err)
			}
		}
		a.serveDNS(n)
	}
}

// program sets every local network's peers from the endpoints last read.
func (a *Agent) program() {
	a.mu.Lock()
	vnis := map[string]uint32{}
	for _, n := range a.nets {
		vnis[n.ID] = n.VNI
	}
	peers := peersByNetwork(a.lastSeen, a.cfg.Host)
	a.mu.Unlock()
	for id, vni := range vnis {
		if err := a.cfg.Plane.SetPeers(vni, peers[id]); err != nil {
			a.log.Warn("cluster networks: cannot program the forwarding entries", "vni", vni, "err", err)
		}
	}
}

// peersByNetwork groups the endpoints of hosts other than host by cluster network.
func peersByNetwork(eps []netstate.Endpoint, host string) map[string][]dataplane.Peer {
	out := map[string][]dataplane.Peer{}
	for _, e := range eps {
		if e.Host == host {
			continue
		}
		mac, err := net.ParseMAC(e.MAC)
		ip, vtep := net.ParseIP(e.IP), net.ParseIP(e.VTEP)
		if err != nil || ip == nil || vtep == nil {
			continue
		}
		out[e.Network] = append(out[e.Network], dataplane.Peer{IP: ip, MAC: mac, VTEP: vtep})
	}
	return out
}
