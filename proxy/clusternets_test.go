package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/errdefs"

	"swarm/overlay/netstate"
)

func TestAClusterNetworkCreateTakesWhatItCanHonour(t *testing.T) {
	yes := true
	ipam := func(c ...network.IPAMConfig) *network.IPAM { return &network.IPAM{Config: c} }
	ok := network.CreateRequest{Name: "eg1", CreateOptions: network.CreateOptions{Driver: "overlay", Attachable: true, Internal: true,
		Labels: map[string]string{"a": "b"}, IPAM: ipam(network.IPAMConfig{Subnet: "10.9.0.0/24", Gateway: "10.9.0.254", IPRange: "10.9.0.0/25"})}}
	spec, err := clusterSpec(ok)
	if err != nil || spec.Name != "eg1" || !spec.Attachable || !spec.Internal || spec.Labels["a"] != "b" ||
		spec.Subnet != "10.9.0.0/24" || spec.Gateway != "10.9.0.254" || spec.IPRange != "10.9.0.0/25" {
		t.Fatalf("spec %+v, %v", spec, err)
	}
	for _, c := range []struct {
		opts network.CreateOptions
		want string
	}{
		{network.CreateOptions{EnableIPv6: &yes}, "IPv4 only"},
		{network.CreateOptions{Ingress: true}, "ingress"},
		{network.CreateOptions{ConfigOnly: true}, "config-only"},
		{network.CreateOptions{Scope: "local"}, "scope swarm"},
		{network.CreateOptions{IPAM: &network.IPAM{Driver: "other"}}, "IPAM driver other"},
		{network.CreateOptions{IPAM: &network.IPAM{Options: map[string]string{"a": "b"}}}, "no IPAM options"},
		{network.CreateOptions{IPAM: ipam(network.IPAMConfig{Subnet: "10.1.0.0/24"}, network.IPAMConfig{Subnet: "10.2.0.0/24"})}, "one subnet"},
		{network.CreateOptions{IPAM: ipam(network.IPAMConfig{Subnet: "10.1.0.0/24", AuxAddress: map[string]string{"a": "10.1.0.9"}})}, "auxiliary"},
	} {
		_, err := clusterSpec(network.CreateRequest{Name: "x", CreateOptions: c.opts})
		if !errdefs.IsInvalidParameter(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an invalid parameter saying %q", c.opts, err, c.want)
		}
	}
}

// fakeNets knows one cluster network, eg1.
type fakeNets struct{ ClusterNetworks }

func (fakeNets) Get(_ context.Context, ref string) (*netstate.Network, error) {
	switch ref {
	case "eg1":
		return &netstate.Network{Name: "eg1", Gateway: "10.0.3.1"}, nil
	case "unknowable":
		return nil, errdefs.Unavailable(errors.New("Consul is down"))
	}
	return nil, errdefs.NotFound(errors.New("not found"))
}

func TestAContainerOnAClusterNetworkIsGivenItsDNS(t *testing.T) {
	for _, c := range []struct{ body, wantDNS string }{
		{`{"Image":"busybox","HostConfig":{"NetworkMode":"eg1","Memory":5}}`, `["10.0.3.1"]`},
		{`{"Image":"busybox","HostConfig":{"NetworkMode":"bridge"},"NetworkingConfig":{"EndpointsConfig":{"eg1":{}}}}`, `["10.0.3.1"]`},
		{`{"Image":"busybox","HostConfig":{"NetworkMode":"eg1","Dns":["9.9.9.9"]}}`, `["9.9.9.9"]`}, // the user's own
		{`{"Image":"busybox","HostConfig":{"NetworkMode":"other"}}`, ``},
		{`{"Image":"busybox","HostConfig":{"NetworkMode":"node-1/eg1"}}`, ``},
		{`{"Image":"busybox","HostConfig":{"NetworkMode":"unknowable"}}`, ``}, // Consul down: created as it came
	} {
		out, err := withClusterDNS(context.Background(), fakeNets{}, []byte(c.body), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		var got struct {
			Image      string
			HostConfig map[string]json.RawMessage
		}
		if err := json.Unmarshal(out, &got); err != nil || got.Image != "busybox" {
			t.Fatalf("%s became %s", c.body, out)
		}
		if string(got.HostConfig["Dns"]) != c.wantDNS {
			t.Errorf("%s: Dns %s, want %q", c.body, got.HostConfig["Dns"], c.wantDNS)
		}
		if strings.Contains(c.body, `"Memory":5`) && string(got.HostConfig["Memory"]) != "5" {
			t.Errorf("%s lost its other fields: %s", c.body, out)
		}
	}
}
