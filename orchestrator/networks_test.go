package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"

	"swarm/overlay/netstate"
)

// fakeNetworks knows cluster network "front" (by name or ID) and any network it made; down makes every call
// fail. Claims and service records are kept in memory.
type fakeNetworks struct {
	down    bool
	mu      sync.Mutex
	made    map[string]*netstate.Network // by name
	claims  map[string]netstate.Holder   // network/ip
	records map[string]netstate.Service
	drained []string // container names, in order
}

var errDown = errors.New("consul: connection refused")

func (f *fakeNetworks) Get(_ context.Context, ref string) (*netstate.Network, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.down:
		return nil, errDown
	case ref == "front" || ref == "frontid":
		return &netstate.Network{ID: "frontid", Name: "front", Subnet: "10.0.9.0/24", Gateway: "10.0.9.1"}, nil
	}
	for _, n := range f.made {
		if n.Name == ref || n.ID == ref {
			return n, nil
		}
	}
	return nil, errdefs.NotFound(errors.New("no network " + ref))
}

func (f *fakeNetworks) Create(_ context.Context, spec netstate.Spec) (*netstate.Network, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.made == nil {
		f.made = map[string]*netstate.Network{}
	}
	n := &netstate.Network{ID: spec.Name + "id", Name: spec.Name, Subnet: "10.0.8.0/24", Gateway: "10.0.8.1", Ingress: spec.Ingress}
	f.made[spec.Name] = n
	return n, nil
}

func (f *fakeNetworks) Remove(_ context.Context, ref string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, n := range f.made {
		if n.ID == ref || name == ref {
			delete(f.made, name)
		}
	}
	return nil
}

func (f *fakeNetworks) ClaimAddress(_ context.Context, id string, _ net.IP, h netstate.Holder) (net.IP, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.claims == nil {
		f.claims = map[string]netstate.Holder{}
	}
	for i := 2; i < 255; i++ {
		ip := net.IPv4(10, 0, 9, byte(i)).To4()
		if _, held := f.claims[id+"/"+ip.String()]; !held {
			f.claims[id+"/"+ip.String()] = h
			return ip, nil
		}
	}
	return nil, errdefs.Unavailable(errors.New("full"))
}

func (f *fakeNetworks) ReleaseAddress(_ context.Context, id string, ip net.IP, h netstate.Holder) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.claims[id+"/"+ip.String()] == h {
		delete(f.claims, id+"/"+ip.String())
	}
	return nil
}

func (f *fakeNetworks) PutService(_ context.Context, svc netstate.Service) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.records == nil {
		f.records = map[string]netstate.Service{}
	}
	f.records[svc.ID] = svc
	return nil
}

func (f *fakeNetworks) DeleteService(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.records, id)
	return nil
}

func (f *fakeNetworks) Services(context.Context, uint64) ([]netstate.Service, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []netstate.Service
	for _, r := range f.records {
		out = append(out, r)
	}
	return out, 1, nil
}

func (f *fakeNetworks) ServiceAddresses(context.Context) ([]netstate.ServiceAddress, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []netstate.ServiceAddress
	for key, h := range f.claims {
		if network, ip, ok := strings.Cut(key, "/"); ok && h.Service != "" {
			out = append(out, netstate.ServiceAddress{Service: h.Service, Network: network, IP: net.ParseIP(ip)})
		}
	}
	return out, nil
}

func (f *fakeNetworks) DrainContainer(_ context.Context, name string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drained = append(f.drained, name)
	return 1, nil
}

// wasDrained tells whether container name was taken out of the mesh.
func (f *fakeNetworks) wasDrained(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.drained, name)
}

// record is the service record of id (ok false: none).
func (f *fakeNetworks) record(id string) (netstate.Service, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.records[id]
	return r, ok
}

// held counts the addresses held by service id.
func (f *fakeNetworks) held(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, h := range f.claims {
		if h.Service == id {
			n++
		}
	}
	return n
}

func onNetworks(s swarm.ServiceSpec, targets ...string) swarm.ServiceSpec {
	for _, t := range targets {
		s.TaskTemplate.Networks = append(s.TaskTemplate.Networks, swarm.NetworkAttachmentConfig{Target: t})
	}
	return s
}

func TestAServiceOnAClusterNetworkRunsItsTasksOnTheEnginesCopyWithTheClusterDNS(t *testing.T) {
	b := newBedWith(t, 1, func(c *Config) { c.Networks = &fakeNetworks{} })
	s := b.create(onNetworks(replicated("web", "nginx", 1), "front"))
	if got := s.Spec.TaskTemplate.Networks; len(got) != 1 || got[0].Target != "frontid" {
		t.Fatalf("stored networks %+v, want the cluster network's ID, as swarm stores it", got)
	}
	b.waitFor("a running task", func() bool { n, _ := b.running("web"); return n == 1 })
	id := b.tasks("web")["node-1"][0].ID
	resp, err := http.Get(b.srvs[0].URL + "/containers/" + id + "/json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ct container.InspectResponse
	if err := json.NewDecoder(resp.Body).Decode(&ct); err != nil {
		t.Fatal(err)
	}
	if hc := ct.HostConfig; hc.NetworkMode != "front" || len(hc.DNS) != 1 || hc.DNS[0] != "10.0.9.1" {
		t.Fatalf("task's network mode %q, DNS %v; want the engine's copy (front) and the network's gateway", hc.NetworkMode, hc.DNS)
	}

	old := replicated("old", "nginx", 1)
	old.Networks = []swarm.NetworkAttachmentConfig{{Target: "front"}} // where clients before API 1.25 put them
	if s := b.create(old); len(s.Spec.TaskTemplate.Networks) != 1 || s.Spec.TaskTemplate.Networks[0].Target != "frontid" || len(s.Spec.Networks) != 0 {
		t.Fatalf("a spec with the top-level networks field is stored as %+v / %+v, want it in the task template", s.Spec.TaskTemplate.Networks, s.Spec.Networks)
	}
	if s := b.create(onNetworks(replicated("local", "nginx", 1), "bridge")); s.Spec.TaskTemplate.Networks[0].Target != "bridge" {
		t.Fatalf("an engine's own network is stored as %+v", s.Spec.TaskTemplate.Networks)
	}
}

func TestNetworksThatCannotBeUsedAreRefused(t *testing.T) {
	b := newBedWith(t, 1, func(c *Config) { c.Networks = &fakeNetworks{} })
	for _, c := range []struct {
		spec swarm.ServiceSpec
		want string
		is   func(error) bool
	}{
		{onNetworks(replicated("a", "nginx", 1), "nosuch"), "network nosuch not found", errdefs.IsInvalidParameter},
		{onNetworks(replicated("b", "nginx", 1), "front", "frontid"), "attached to network frontid more than once", errdefs.IsInvalidParameter},
	} {
		_, err := b.o.CreateService(context.Background(), c.spec, "")
		if err == nil || !strings.Contains(err.Error(), c.want) || !c.is(err) {
			t.Errorf("%s: %v, want %q", c.spec.Name, err, c.want)
		}
	}
	down := newBedWith(t, 1, func(c *Config) { c.Networks = &fakeNetworks{down: true} })
	if _, err := down.o.CreateService(context.Background(), onNetworks(replicated("c", "nginx", 1), "front"), ""); !errdefs.IsUnavailable(err) {
		t.Errorf("networks unreadable: %v, want unavailable", err)
	}
	if n := len(b.store.Services()) + len(down.store.Services()); n != 0 {
		t.Fatalf("refused specs were stored: %d", n)
	}
}

func ingress(s swarm.ServiceSpec, published, target uint32) swarm.ServiceSpec {
	return withPorts(s, swarm.PortConfig{TargetPort: target, PublishedPort: published})
}

func TestAnIngressPortGivesTheServiceVirtualIPsAndARecordForEveryHost(t *testing.T) {
	nets := &fakeNetworks{}
	b := newBedWith(t, 2, func(c *Config) { c.Networks = nets })
	s := b.create(ingress(onNetworks(replicated("lb", "nginx", 2), "front"), 81, 80))
	if got := s.Endpoint.VirtualIPs; len(got) != 2 || got[0].NetworkID != "frontid" || got[1].NetworkID != "ingressid" {
		t.Fatalf("virtual IPs %+v, want one on front, then one on the ingress network", got)
	}
	if in, err := nets.Get(context.Background(), "ingress"); err != nil || !in.Ingress {
		t.Fatalf("the ingress network was not made: %v %v", in, err)
	}
	b.waitFor("the service's record", func() bool {
		r, ok := nets.record(s.ID)
		return ok && r.Name == "lb" && r.Mode == "vip" && len(r.VIPs) == 2 &&
			len(r.Ports) == 1 && r.Ports[0] == netstate.Port{Protocol: "tcp", Target: 80, Published: 81}
	})
	b.waitFor("two running tasks", func() bool { n, _ := b.running("lb"); return n == 2 })
	for _, c := range b.tasks("lb") {
		if len(c[0].Ports) != 0 {
			t.Fatalf("an ingress port was bound on the task's node: %+v", c[0].Ports)
		}
	}

	// Another service on that port is refused, naming the holder; without a number it gets one of its own.
	_, err := b.o.CreateService(context.Background(), ingress(replicated("other", "nginx", 1), 81, 8080), "")
	if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "port '81' is already in use by service 'lb'") {
		t.Fatalf("a second service on port 81: %v", err)
	}
	auto := b.create(ingress(replicated("auto", "nginx", 1), 0, 80))
	if p := auto.Endpoint.Ports; len(p) != 1 || p[0].PublishedPort != 30000 {
		t.Fatalf("a port published without a number got %+v, want 30000", p)
	}
	if _, err := b.o.CreateService(context.Background(), withMode(ingress(replicated("rr", "nginx", 1), 82, 80), swarm.ResolutionModeDNSRR), ""); err == nil ||
		!strings.Contains(err.Error(), "can't be used with dnsrr mode") {
		t.Fatalf("dnsrr with an ingress port: %v", err)
	}

	// Removed: its record goes and its addresses are freed.
	if err := b.o.RemoveService(context.Background(), s.ID); err != nil {
		t.Fatal(err)
	}
	b.waitFor("the record removed", func() bool { _, ok := nets.record(s.ID); return !ok })
	if n := nets.held(s.ID); n != 0 {
		t.Fatalf("%d virtual IPs still held after the service was removed", n)
	}
}

func withMode(s swarm.ServiceSpec, m swarm.ResolutionMode) swarm.ServiceSpec {
	if s.EndpointSpec == nil {
		s.EndpointSpec = &swarm.EndpointSpec{}
	}
	s.EndpointSpec.Mode = m
	return s
}

func TestThePrimaryReleasesTheAddressesOfServicesThatNoLongerExist(t *testing.T) {
	nets := &fakeNetworks{}
	if _, err := nets.ClaimAddress(context.Background(), "frontid", nil, netstate.Holder{Service: "gone"}); err != nil {
		t.Fatal(err)
	}
	b := newBedWith(t, 1, func(c *Config) { c.Networks = nets })
	s := b.create(onNetworks(replicated("kept", "nginx", 1), "front"))
	b.waitFor("the vanished service's address released", func() bool { return nets.held("gone") == 0 })
	if nets.held(s.ID) != 1 {
		t.Fatalf("the living service holds %d addresses, want its virtual IP", nets.held(s.ID))
	}
}

func TestATaskIsTakenOutOfTheMeshBeforeItIsStopped(t *testing.T) {
	nets := &fakeNetworks{}
	b := newBedWith(t, 1, func(c *Config) { c.Networks = nets })
	s := b.create(ingress(replicated("lb", "nginx", 2), 81, 80))
	plain := b.create(replicated("plain", "nginx", 1))
	b.waitFor("three running tasks", func() bool {
		n, _ := b.running("lb")
		m, _ := b.running("plain")
		return n == 2 && m == 1
	})
	names := map[string]bool{}
	for _, c := range b.tasks("lb")["node-1"] {
		names[strings.TrimPrefix(c.Names[0], "/")] = true
	}
	b.scale(s.ID, 1)
	b.waitFor("one task left", func() bool { n, _ := b.running("lb"); return n == 1 })
	drained := 0
	for name := range names {
		if nets.wasDrained(name) {
			drained++
		}
	}
	if drained != 1 {
		t.Fatalf("%d of lb's tasks were taken out of the mesh, want the one scaled away (drained: %v)", drained, nets.drained)
	}
	b.scale(plain.ID, 0)
	b.waitFor("plain scaled to 0", func() bool { n, _ := b.running("plain"); return n == 0 })
	if len(nets.drained) != 1 {
		t.Fatalf("a service without VIP or ingress port was drained: %v", nets.drained)
	}
}
