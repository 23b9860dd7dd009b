package agent

import (
	"net"
	"testing"

	"swarm/overlay/dataplane"
	"swarm/overlay/netstate"
)

func TestTheMACOfAnAddressIsDockers(t *testing.T) {
	if got := macFor(net.ParseIP("10.0.9.3")).String(); got != "02:42:0a:00:09:03" {
		t.Fatalf("macFor(10.0.9.3) = %s", got)
	}
}

func TestPeersAreTheOtherHostsEndpointsByNetwork(t *testing.T) {
	eps := []netstate.Endpoint{
		{Network: "n1", ID: "a", Host: "h1:2375", VTEP: "10.99.0.10", IP: "10.0.0.2", MAC: "02:42:0a:00:00:02"},
		{Network: "n1", ID: "b", Host: "h2:2375", VTEP: "10.99.0.11", IP: "10.0.0.3", MAC: "02:42:0a:00:00:03"},
		{Network: "n2", ID: "c", Host: "h2:2375", VTEP: "10.99.0.11", IP: "10.0.1.2", MAC: "02:42:0a:00:01:02"},
		{Network: "n2", ID: "d", Host: "h3:2375", VTEP: "10.99.0.12", IP: "10.0.1.3", MAC: "bad"},
	}
	got := peersByNetwork(eps, "h1:2375")
	if len(got["n1"]) != 1 || !got["n1"][0].IP.Equal(net.ParseIP("10.0.0.3")) || !got["n1"][0].VTEP.Equal(net.ParseIP("10.99.0.11")) {
		t.Fatalf("n1 peers %+v, want only h2's endpoint", got["n1"])
	}
	if len(got["n2"]) != 1 || got["n2"][0].MAC.String() != "02:42:0a:00:01:02" {
		t.Fatalf("n2 peers %+v, want c only (d's MAC is unreadable)", got["n2"])
	}
}

func TestPlaneNetworkCarriesTheGatewayOnTheBridge(t *testing.T) {
	pn, err := planeNetwork(&netstate.Network{Name: "eg1", Subnet: "10.0.4.0/24", Gateway: "10.0.4.1", VNI: 4100, MTU: 1400})
	if err != nil || pn.VNI != 4100 || pn.MTU != 1400 || pn.BridgeIP.String() != "10.0.4.1/24" {
		t.Fatalf("planeNetwork: %+v, %v", pn, err)
	}
	if _, err := planeNetwork(&netstate.Network{Name: "bad", Subnet: "nope", Gateway: "10.0.4.1"}); err == nil {
		t.Fatal("a bad subnet was taken")
	}
}

func TestNamesResolveOnTheAskingContainersNetworks(t *testing.T) {
	a := &Agent{book: newBook([]netstate.Endpoint{
		{Network: "n1", Host: "h1", IP: "10.0.0.2", Container: "web", Aliases: []string{"Front"}},
		{Network: "n1", Host: "h2", IP: "10.0.0.3", Container: "client"},
		{Network: "n2", Host: "h2", IP: "10.0.1.3", Container: "client"},
		{Network: "n2", Host: "h3", IP: "10.0.1.4", Container: "db"},
		{Network: "n2", Host: "h3", IP: "10.0.1.5"}, // not named yet
	}, nil)}
	for _, c := range []struct {
		network, from, name, want string
	}{
		{"n1", "10.0.0.3", "web", "10.0.0.2"},
		{"n1", "10.0.0.3", "front", "10.0.0.2"}, // aliases, whatever their case
		{"n1", "10.0.0.3", "db", "10.0.1.4"},    // client is on n2 as well
		{"n1", "10.0.0.9", "db", ""},            // an unknown asker sees its network only
		{"n2", "10.0.1.4", "web", ""},
	} {
		got := a.Lookup(c.network, net.ParseIP(c.from), c.name)
		if (c.want == "" && got != nil) || (c.want != "" && (len(got) != 1 || got[0].String() != c.want)) {
			t.Errorf("%s asking %s on %s: %v, want %q", c.from, c.name, c.network, got, c.want)
		}
	}
}

func TestWhileSettlingEntriesAreOnlyAddedOrReplaced(t *testing.T) {
	peer := func(ip, mac, vtep string) dataplane.Peer {
		m, _ := net.ParseMAC(mac)
		return dataplane.Peer{IP: net.ParseIP(ip), MAC: m, VTEP: net.ParseIP(vtep)}
	}
	old := []dataplane.Peer{
		peer("10.0.0.2", "02:42:0a:00:00:02", "10.99.0.10"), // not back yet: kept
		peer("10.0.0.3", "02:42:0a:00:00:03", "10.99.0.10"), // back on another host: replaced
		peer("10.0.0.4", "02:42:0a:00:00:04", "10.99.0.10"), // its MAC now has another address: dropped
	}
	got := union(old, []dataplane.Peer{peer("10.0.0.3", "02:42:0a:00:00:03", "10.99.0.11"), peer("10.0.0.5", "02:42:0a:00:00:04", "10.99.0.11")})
	want := map[string]string{"10.0.0.2": "10.99.0.10", "10.0.0.3": "10.99.0.11", "10.0.0.5": "10.99.0.11"}
	if len(got) != len(want) {
		t.Fatalf("union %v, want %v", got, want)
	}
	for _, p := range got {
		if want[p.IP.String()] != p.VTEP.String() {
			t.Fatalf("union %v, want %v", got, want)
		}
	}
}

func TestAServiceNameAndTasksNameAnswerWithEveryTask(t *testing.T) {
	a := &Agent{book: newBook([]netstate.Endpoint{
		{Network: "n1", Host: "h1", IP: "10.0.0.2", Container: "api.1.x", Service: "api"},
		{Network: "n1", Host: "h2", IP: "10.0.0.3", Container: "api.2.y", Service: "api"},
		{Network: "n1", Host: "h2", IP: "10.0.0.4", Container: "client"},
		{Network: "n2", Host: "h3", IP: "10.0.1.2", Container: "api.3.z", Service: "api"},
	}, nil)}
	for _, name := range []string{"api", "tasks.api", "TASKS.API"} {
		got := a.Lookup("n1", net.ParseIP("10.0.0.4"), name)
		if len(got) != 2 || got[0].String() != "10.0.0.2" || got[1].String() != "10.0.0.3" {
			t.Errorf("%s on n1: %v, want the two tasks on n1", name, got)
		}
	}
	if got := a.Lookup("n1", net.ParseIP("10.0.0.4"), "api.1.x"); len(got) != 1 {
		t.Errorf("a task's container name: %v", got)
	}
}
