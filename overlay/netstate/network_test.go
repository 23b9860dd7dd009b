package netstate

import (
	"net"
	"strings"
	"testing"

	"github.com/docker/docker/errdefs"
)

func TestSpecsAreValidatedWithAClearError(t *testing.T) {
	cases := []struct {
		spec Spec
		want string // "" = valid
	}{
		{Spec{Name: "eg1"}, ""},
		{Spec{Name: "eg1", Subnet: "10.9.0.0/24", Gateway: "10.9.0.254", IPRange: "10.9.0.128/25"}, ""},
		{Spec{Name: "eg1", Options: map[string]string{OptVNI: "5000", OptMTU: "1400"}}, ""},
		{Spec{Name: "-bad"}, "invalid network name"},
		{Spec{Name: "eg1", Subnet: "10.9.0.0"}, "invalid subnet"},
		{Spec{Name: "eg1", Subnet: "fd00::/64"}, "invalid subnet"},
		{Spec{Name: "eg1", Subnet: "10.9.0.0/30"}, "too small"},
		{Spec{Name: "eg1", Subnet: "10.9.0.0/24", Gateway: "10.9.1.1"}, "invalid gateway"},
		{Spec{Name: "eg1", Subnet: "10.9.0.0/24", Gateway: "10.9.0.255"}, "invalid gateway"},
		{Spec{Name: "eg1", Subnet: "10.9.0.0/24", IPRange: "10.9.0.0/23"}, "invalid ip range"},
		{Spec{Name: "eg1", Gateway: "10.9.0.1"}, "need a --subnet"},
		{Spec{Name: "eg1", Options: map[string]string{"color": "blue"}}, `unknown driver option "color"`},
		{Spec{Name: "eg1", Options: map[string]string{OptEncrypted: ""}}, "not supported"},
		{Spec{Name: "eg1", Options: map[string]string{OptVNI: "12"}}, "invalid " + OptVNI},
		{Spec{Name: "eg1", Options: map[string]string{OptMTU: "80"}}, "invalid " + OptMTU},
	}
	for _, c := range cases {
		_, err := parse(c.spec)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c.spec, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errdefs.IsInvalidParameter(err)):
			t.Errorf("%+v: error %v, want an invalid parameter containing %q", c.spec, err, c.want)
		}
	}
}

func TestANewNetworkDefaultsItsGatewayToTheFirstAddress(t *testing.T) {
	p, err := parse(Spec{Name: "a", Subnet: "10.9.0.0/24", IPRange: "10.9.0.128/25"})
	if err != nil {
		t.Fatal(err)
	}
	n := p.network(p.subnet, 4096)
	if n.Gateway != "10.9.0.1" || n.Subnet != "10.9.0.0/24" || n.IPRange != "10.9.0.128/25" || len(n.ID) != 64 {
		t.Fatalf("network %+v", n)
	}
}

func cidr(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFreeSubnetSkipsEveryTakenOneWhateverItsSize(t *testing.T) {
	pool := cidr(t, "10.0.0.0/16")
	cases := []struct {
		taken []string
		want  string
	}{
		{nil, "10.0.0.0/24"},
		{[]string{"10.0.0.0/24", "10.0.1.0/24"}, "10.0.2.0/24"},
		{[]string{"10.0.0.0/20"}, "10.0.16.0/24"},
		{[]string{"10.0.0.128/25"}, "10.0.1.0/24"},
		{[]string{"10.0.0.0/24", "10.0.2.0/23", "10.0.1.0/24"}, "10.0.4.0/24"},
		{[]string{"10.0.0.0/8"}, ""},
		{[]string{"10.0.0.0/17", "10.0.128.0/17"}, ""},
	}
	for _, c := range cases {
		var taken []*net.IPNet
		for _, s := range c.taken {
			taken = append(taken, cidr(t, s))
		}
		got := freeSubnet(pool, 24, taken)
		if (got == nil && c.want != "") || (got != nil && got.String() != c.want) {
			t.Errorf("taken %v: got %v, want %q", c.taken, got, c.want)
		}
	}
}

func TestUsableAddressesExcludeTheNetworkAndBroadcast(t *testing.T) {
	n := cidr(t, "10.9.0.0/29")
	for ip, want := range map[string]bool{"10.9.0.0": false, "10.9.0.1": true, "10.9.0.6": true, "10.9.0.7": false, "10.9.0.8": false} {
		if got := usable(n, net.ParseIP(ip)); got != want {
			t.Errorf("usable(%s) = %v, want %v", ip, got, want)
		}
	}
}
