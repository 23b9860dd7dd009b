package agent

import (
	"net"
	"testing"

	"swarm/overlay/mesh"
	"swarm/overlay/netstate"
)

func TestFrontendsSpreadEachVIPAndIngressPortOverTheTasksOnItsNetwork(t *testing.T) {
	front := &netstate.Network{ID: "front", Name: "front", VNI: 4100}
	in := &netstate.Network{ID: "ing", Name: "ingress", VNI: 4101, Ingress: true}
	far := &netstate.Network{ID: "far", Name: "far", VNI: 4102} // not on this host
	local := map[string]localNet{
		"front": {n: front, hostIP: net.ParseIP("10.0.1.250")},
		"ing":   {n: in, hostIP: net.ParseIP("10.0.0.250")},
	}
	svcs := []netstate.Service{
		{ID: "1", Name: "web", Mode: "vip", VIPs: map[string]string{"front": "10.0.1.5", "ing": "10.0.0.5", "far": "10.0.2.5"},
			Ports: []netstate.Port{{Protocol: "tcp", Target: 80, Published: 81}}},
		{ID: "2", Name: "rr", Mode: netstate.ServiceModeDNSRR, VIPs: map[string]string{"front": "10.0.1.6"}},
	}
	eps := []netstate.Endpoint{
		{Network: "front", IP: "10.0.1.3", Service: "web"},
		{Network: "front", IP: "10.0.1.2", Service: "web"},
		{Network: "ing", IP: "10.0.0.3", Service: "web"},
		{Network: "front", IP: "10.0.1.9", Service: "rr"},
		{Network: "front", IP: "10.0.1.4"}, // a plain container
		{Network: "far", IP: "10.0.2.3", Service: "web"},
		{Network: "front", IP: "10.0.1.8", Service: "web", Draining: true}, // being stopped: no new connection
	}
	_ = far
	got := frontends(svcs, eps, local)
	want := []mesh.Frontend{ // sorted by service, protocol, address, port
		{Service: "web", Proto: "tcp", Port: 81, Bridge: "swbr4101", SNAT: net.ParseIP("10.0.0.250").To4(),
			Backends: []mesh.Backend{{IP: net.ParseIP("10.0.0.3").To4(), Port: 80}}},
		{Service: "web", Proto: "", Addr: net.ParseIP("10.0.0.5").To4(), Bridge: "swbr4101", SNAT: net.ParseIP("10.0.0.250").To4(),
			Backends: []mesh.Backend{{IP: net.ParseIP("10.0.0.3").To4()}}},
		{Service: "web", Proto: "", Addr: net.ParseIP("10.0.1.5").To4(), Bridge: "swbr4100", SNAT: net.ParseIP("10.0.1.250").To4(),
			Backends: []mesh.Backend{{IP: net.ParseIP("10.0.1.2").To4()}, {IP: net.ParseIP("10.0.1.3").To4()}}},
	}
	if len(got) != len(want) {
		t.Fatalf("frontends:\n%+v\nwant:\n%+v", got, want)
	}
	for i := range want {
		if frontendKey(got[i]) != frontendKey(want[i]) || got[i].Bridge != want[i].Bridge || !got[i].SNAT.Equal(want[i].SNAT) ||
			len(got[i].Backends) != len(want[i].Backends) {
			t.Fatalf("frontend %d: %+v, want %+v", i, got[i], want[i])
		}
		for j, b := range want[i].Backends {
			if !got[i].Backends[j].IP.Equal(b.IP) || got[i].Backends[j].Port != b.Port {
				t.Fatalf("frontend %d backend %d: %+v, want %+v", i, j, got[i].Backends[j], b)
			}
		}
	}
	// Without this host's address on a network, nothing is programmed there.
	delete(local, "ing")
	local["front"] = localNet{n: front}
	if got := frontends(svcs, eps, local); len(got) != 0 {
		t.Fatalf("frontends without host addresses: %+v", got)
	}
}

func TestAServiceInVIPModeAnswersWithItsVirtualIPAndTasksNameWithItsTasks(t *testing.T) {
	eps := []netstate.Endpoint{
		{Network: "n1", Host: "h1", IP: "10.0.0.2", Container: "web.1.x", Service: "web"},
		{Network: "n1", Host: "h2", IP: "10.0.0.3", Container: "web.2.y", Service: "web"},
		{Network: "n1", Host: "h2", IP: "10.0.0.4", Container: "rr.1.z", Service: "rr"},
		{Network: "n1", Host: "h2", IP: "10.0.0.5", Container: "web.3.w", Service: "web", Draining: true},
	}
	svcs := []netstate.Service{
		{Name: "web", Mode: "vip", VIPs: map[string]string{"n1": "10.0.0.100"}},
		{Name: "rr", Mode: netstate.ServiceModeDNSRR},
	}
	a := &Agent{book: newBook(eps, svcs)}
	for name, want := range map[string][]string{
		"web": {"10.0.0.100"}, "tasks.web": {"10.0.0.2", "10.0.0.3"}, "rr": {"10.0.0.4"}, "tasks.rr": {"10.0.0.4"},
	} {
		got := a.Lookup("n1", net.ParseIP("10.0.0.4"), name)
		if len(got) != len(want) {
			t.Fatalf("%s: %v, want %v", name, got, want)
		}
		for i := range want {
			if got[i].String() != want[i] {
				t.Fatalf("%s: %v, want %v", name, got, want)
			}
		}
	}
	if !needsHostAddress(&netstate.Network{ID: "n1"}, svcs) || needsHostAddress(&netstate.Network{ID: "n2"}, svcs) ||
		!needsHostAddress(&netstate.Network{ID: "in", Ingress: true}, []netstate.Service{{Ports: []netstate.Port{{Published: 81}}}}) {
		t.Fatal("needsHostAddress: a network with a VIP (or ingress with ports) needs one, another does not")
	}
}
