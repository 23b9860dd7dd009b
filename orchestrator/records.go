package orchestrator

import (
	"context"
	"encoding/json"
	"net"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"swarm/overlay/netstate"
)

// meshRecords are the routing mesh's service records this primary wrote in its term (service ID -> the JSON
// written), so a pass writes only what changed. Under memory.mu.
type meshRecords struct {
	written map[string]string
	listed  bool      // the records found in the store at the term's start were read (and stale ones removed)
	swept   time.Time // when the addresses of services that no longer exist were last released
}

// sweepEvery is how often the primary releases the virtual IPs of services that no longer exist (a removal
// whose release failed, or a manager that stopped in between).
const sweepEvery = 5 * time.Minute

// record is what every host needs of s: its name, endpoint mode, virtual IPs and ingress ports.
func record(s swarm.Service) netstate.Service {
	r := netstate.Service{ID: s.ID, Name: s.Spec.Name, Mode: string(endpointSpec(s.Spec).Mode)}
	for _, v := range s.Endpoint.VirtualIPs {
		if ip, _, err := net.ParseCIDR(v.Addr); err == nil {
			if r.VIPs == nil {
				r.VIPs = map[string]string{}
			}
			r.VIPs[v.NetworkID] = ip.String()
		}
	}
	for _, p := range ingressPorts(s.Endpoint.Ports) {
		r.Ports = append(r.Ports, netstate.Port{Protocol: string(p.Protocol), Target: uint16(p.TargetPort), Published: uint16(p.PublishedPort)})
	}
	return r
}

// syncRecords makes the service records those of services: written where they changed, removed for services
// that are gone. Failures are logged and tried again at the next pass.
func (o *reconciler) syncRecords(ctx context.Context, m *memory, services map[string]swarm.Service) {
	if o.cfg.Networks == nil {
		return
	}
	m.mu.Lock()
	if m.records.written == nil {
		m.records.written = map[string]string{}
	}
	written, listed := m.records.written, m.records.listed
	m.mu.Unlock()
	if !listed && !o.dropStaleRecords(ctx, m, services) {
		return
	}
	o.sweepAddresses(ctx, m, services)
	for id, s := range services {
		r, _ := json.Marshal(record(s))
		if written[id] == string(r) {
			continue
		}
		if err := o.cfg.Networks.PutService(ctx, record(s)); err != nil {
			o.log.Warn("routing mesh: cannot write a service's record", "service", s.Spec.Name, "err", err)
			continue
		}
		m.mu.Lock()
		written[id] = string(r)
		m.mu.Unlock()
	}
	for id := range written {
		if _, ok := services[id]; !ok && o.cfg.Networks.DeleteService(ctx, id) == nil {
			m.mu.Lock()
			delete(written, id)
			m.mu.Unlock()
		}
	}
}

// dropStaleRecords removes the records of services that no longer exist (removed while no primary wrote),
// once per term; false when the records cannot be read.
func (o *reconciler) dropStaleRecords(ctx context.Context, m *memory, services map[string]swarm.Service) bool {
	recs, _, err := o.cfg.Networks.Services(ctx, 0)
	if err != nil {
		o.log.Warn("routing mesh: cannot read the service records", "err", err)
		return false
	}
	for _, r := range recs {
		if _, ok := services[r.ID]; !ok {
			if err := o.cfg.Networks.DeleteService(ctx, r.ID); err != nil {
				return false
			}
		}
	}
	m.mu.Lock()
	m.records.listed = true
	m.mu.Unlock()
	return true
}

// forgetRecord removes service id's record at once (the primary's next pass would, too): the hosts stop
// answering for it now.
func (o *shared) forgetRecord(ctx context.Context, id string) {
	if o.cfg.Networks == nil {
		return
	}
	if err := o.cfg.Networks.DeleteService(ctx, id); err != nil {
		o.log.Warn("routing mesh: cannot remove a service's record; the primary will", "service", id, "err", err)
	}
}

// sweepAddresses releases, every sweepEvery (the first pass of a term included), the addresses held by
// services that no longer exist.
func (o *reconciler) sweepAddresses(ctx context.Context, m *memory, services map[string]swarm.Service) {
	m.mu.Lock()
	due := time.Since(m.records.swept) >= sweepEvery
	if due {
		m.records.swept = time.Now()
	}
	m.mu.Unlock()
	if !due {
		return
	}
	held, err := o.cfg.Networks.ServiceAddresses(ctx)
	if err != nil {
		o.log.Warn("routing mesh: cannot read the services' addresses", "err", err)
		return
	}
	for _, a := range held {
		if _, ok := services[a.Service]; ok {
			continue
		}
		if err := o.cfg.Networks.ReleaseAddress(ctx, a.Network, a.IP, netstate.Holder{Service: a.Service}); err != nil {
			o.log.Warn("routing mesh: cannot release a removed service's address", "service", a.Service, "ip", a.IP, "err", err)
		}
	}
}
