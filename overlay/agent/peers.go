package agent

import (
	"context"
	"maps"
	"net"
	"time"

	"swarm/internal/backoff"
	"swarm/overlay/dataplane"
	"swarm/overlay/netstate"
)

// Run follows every endpoint of the cluster until ctx ends, keeping each local network's forwarding entries to
// exactly the endpoints of the other hosts. It first replays this host's networks from Consul (after a restart
// the kernel still holds them; this makes sure). Consul being unreachable is retried with backoff; the kernel
// keeps the last entries meanwhile. It also follows the health of this host's containers (health.go).
func (a *Agent) Run(ctx context.Context) error {
	a.mu.Lock()
	a.ctx = ctx
	a.mu.Unlock()
	a.restore(ctx)
	reads, svcReads := make(chan read), make(chan []netstate.Service)
	go a.follow(ctx, reads)
	go a.followServices(ctx, svcReads)
	go a.followHealth(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case svcs := <-svcReads:
			a.mu.Lock()
			a.services, a.book = svcs, newBook(a.lastSeen, svcs)
			a.mu.Unlock()
			a.programMesh(ctx)
		case rd := <-reads:
			switch missing := a.missing(rd.eps); {
			case rd.reset:
				a.log.Warn("cluster networks: Consul lost its data (its index went backwards); publishing this host's networks and endpoints again")
				a.mu.Lock()
				a.settleUntil = time.Now().Add(settle)
				a.mu.Unlock()
				a.republish(ctx, nil)
			case len(missing) > 0:
				a.republish(ctx, missing)
			}
			a.correctHealth(ctx, rd.eps)
			a.mu.Lock()
			if rd.eps == nil {
				rd.eps = []netstate.Endpoint{} // read: none (nil is "not read yet")
			}
			a.lastSeen, a.book = rd.eps, newBook(rd.eps, a.services)
			a.mu.Unlock()
			a.program()
			a.programMesh(ctx)
		case <-a.kick:
			a.program()
			a.programMesh(ctx)
		}
	}
}

// read is one read of every endpoint; reset says Consul's index went backwards since the last (it restarted
// without its data, or was restored from a snapshot).
type read struct {
	eps   []netstate.Endpoint
	reset bool
}

// follow sends every endpoint read from Consul, at each change, until ctx ends.
func (a *Agent) follow(ctx context.Context, out chan<- read) {
	watch(ctx, a, "the endpoints", a.cfg.State.Endpoints, func(eps []netstate.Endpoint, reset bool) {
		select {
		case out <- read{eps: eps, reset: reset}:
		case <-ctx.Done():
		}
	})
}

// watch reads with blocking queries (get waits for a change after the index it is given) and calls got with
// each new result, and whether Consul's index went backwards since the last one, until ctx ends. A failed
// read is retried with backoff, then made at once (index 0).
func watch[T any](ctx context.Context, a *Agent, what string, get func(context.Context, uint64) (T, uint64, error), got func(T, bool)) {
	var index, seen uint64 // what the next read waits on (0 after a failure: read at once); the last index read
	retry := backoff.Delay{Min: 500 * time.Millisecond, Max: 5 * time.Second, Jitter: true}
	for ctx.Err() == nil {
		v, next, err := get(ctx, index)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("cluster networks: cannot read "+what+" from Consul; retrying", "err", err)
			}
			retry.Wait(ctx)
			index = 0
			continue
		}
		retry.Reset()
		if next == seen && index != 0 {
			continue // woken with nothing new
		}
		reset := next < seen
		index, seen = next, next
		got(v, reset)
	}
}

// restore reads this host's attachments and endpoints back, makes sure their devices exist, and sweeps the
// endpoints the engine no longer has (their containers left while this join was down).
func (a *Agent) restore(ctx context.Context) {
	var before []netstate.Endpoint
	if eps, _, err := a.cfg.State.Endpoints(ctx, 0); err == nil {
		a.mu.Lock()
		for _, e := range eps {
			if e.Host == a.cfg.Host {
				a.mine[e.ID] = e
				before = append(before, e)
			}
		}
		a.mu.Unlock()
	}
	defer a.sweep(ctx, before)
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

// program sets every local network's peers from the endpoints last read. A network whose read lacks one of
// this host's own endpoints is left as it is: the read is not the whole truth (Consul lost its data and the
// hosts are publishing theirs again), and emptying its entries would cut its containers off.
func (a *Agent) program() {
	a.mu.Lock()
	vnis := map[string]uint32{}
	for _, n := range a.nets {
		vnis[n.ID] = n.VNI
	}
	for id := range incomplete(a.lastSeen, a.mine) {
		delete(vnis, id)
	}
	peers := peersByNetwork(a.lastSeen, a.cfg.Host)
	settling := time.Now().Before(a.settleUntil)
	programmed := maps.Clone(a.programmed)
	eps, mine := a.lastSeen, maps.Clone(a.mine)
	a.mu.Unlock()
	a.checkNeighbours(eps, mine)
	for id, vni := range vnis {
		want := peers[id]
		if settling {
			want = union(programmed[vni], want)
		}
		if err := a.cfg.Plane.SetPeers(vni, want); err != nil {
			a.log.Warn("cluster networks: cannot program the forwarding entries", "vni", vni, "err", err)
			continue
		}
		a.mu.Lock()
		a.programmed[vni] = want
		a.mu.Unlock()
	}
}

// settle is how long after Consul lost its data entries are only added, never removed: the other hosts are
// still publishing theirs again, and an endpoint not back yet is not gone.
const settle = 30 * time.Second

// union is old and new together, new winning where they disagree on an address or a MAC.
func union(old, new []dataplane.Peer) []dataplane.Peer {
	ips, macs := map[string]bool{}, map[string]bool{}
	for _, p := range new {
		ips[p.IP.String()], macs[p.MAC.String()] = true, true
	}
	out := append([]dataplane.Peer{}, new...)
	for _, p := range old {
		if !ips[p.IP.String()] && !macs[p.MAC.String()] {
			out = append(out, p)
		}
	}
	return out
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

// incomplete returns the networks on which eps lacks one of mine.
func incomplete(eps []netstate.Endpoint, mine map[string]netstate.Endpoint) map[string]bool {
	out := map[string]bool{}
	for _, e := range lacking(eps, mine) {
		out[e.Network] = true
	}
	return out
}

// lacking returns those of mine that eps lacks.
func lacking(eps []netstate.Endpoint, mine map[string]netstate.Endpoint) map[string]netstate.Endpoint {
	seen := make(map[string]bool, len(eps))
	for _, e := range eps {
		seen[e.ID] = true
	}
	out := map[string]netstate.Endpoint{}
	for id, e := range mine {
		if !seen[id] {
			out[id] = e
		}
	}
	return out
}

// missing returns this host's endpoints that a read lacks, but for those published within publishGrace (the
// read may predate them).
func (a *Agent) missing(eps []netstate.Endpoint) map[string]netstate.Endpoint {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := lacking(eps, a.mine)
	for id := range out {
		if time.Since(a.publishedAt[id]) < publishGrace {
			delete(out, id)
		}
	}
	return out
}

// publishGrace is how long after publishing an endpoint a read may lack it without it being written again.
const publishGrace = 10 * time.Second

// republish writes back what this host holds and Consul lost: its networks (if no host did yet), its engine
// networks, its addresses and endpoints; only (when not nil) limits it to those endpoints and their networks.
// A read may lack an endpoint just published too: writing it again changes nothing.
func (a *Agent) republish(ctx context.Context, only map[string]netstate.Endpoint) {
	a.mu.Lock()
	nets := maps.Clone(a.nets)
	mine := maps.Clone(a.mine)
	a.mu.Unlock()
	if only != nil {
		mine = only
		wanted := map[string]bool{}
		for _, e := range only {
			wanted[e.Network] = true
		}
		maps.DeleteFunc(nets, func(_ string, n *netstate.Network) bool { return !wanted[n.ID] })
	}
	restored := map[string]bool{}
	for engineID, n := range nets {
		if _, tried := restored[n.ID]; !tried {
			err := a.cfg.State.Restore(ctx, n)
			a.warnIf("restoring network "+n.Name, err)
			restored[n.ID] = err == nil
		}
		if restored[n.ID] {
			a.warnIf("restoring engine network "+short(engineID), a.cfg.State.PutAttachment(ctx, a.cfg.Host, engineID, n.ID))
		}
	}
	for _, ep := range mine {
		if !restored[ep.Network] {
			continue // its network is not this host's any more, or was removed
		}
		_, err := a.cfg.State.ClaimAddress(ctx, ep.Network, net.ParseIP(ep.IP), netstate.Holder{Host: a.cfg.Host})
		a.warnIf("restoring address "+ep.IP, err)
		a.warnIf("restoring endpoint "+short(ep.ID), a.cfg.State.PutEndpoint(ctx, ep))
	}
}

func (a *Agent) warnIf(what string, err error) {
	if err != nil {
		a.log.Warn("cluster networks: "+what, "err", err)
	}
}
