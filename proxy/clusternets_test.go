package proxy

import (
	"strings"
	"testing"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/errdefs"
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
