package cmdline

import (
	"reflect"
	"strings"
	"testing"
)

func mustParse(t *testing.T, line string) *Spec {
	t.Helper()
	s, err := Parse(strings.Fields(line))
	if err != nil {
		t.Fatalf("Parse(%q): %v", line, err)
	}
	return s
}

func TestParseForms(t *testing.T) {
	s := mustParse(t, "br1 -i eth2 -l veth9 -a 4 web 192.168.1.10/24@192.168.1.1 02:42:ac:11:00:09")
	if s.HostIf != "br1" || s.ContainerIf != "eth2" || s.LocalIf != "veth9" || s.Container != "web" ||
		s.Addr.String() != "192.168.1.10/24" || s.Gateway.String() != "192.168.1.1" || s.MAC.String() != "02:42:ac:11:00:09" {
		t.Fatalf("%+v", s)
	}
	s = mustParse(t, "eth0 web 10.0.0.5/16 @10")
	if s.VLAN != 10 || s.MAC != nil || s.ContainerIf != "eth1" {
		t.Fatalf("vlan only: %+v", s)
	}
	s = mustParse(t, "eth0 web dhcp:-t U:myhost.foo.com")
	if !s.DHCP || s.DHCPOpts != "-t" || s.MAC.String() != "02:72:6c:cd:9b:8d" {
		t.Fatalf("dhcp: %+v", s)
	}
	if got := derivedMAC("myhost.foo.com").String(); got != "02:72:6c:cd:9b:8d" {
		t.Fatalf("U: MAC %s, want the original's 02:72:6c:cd:9b:8d", got)
	}
	s = mustParse(t, "mac:52:54:00:12:34:56 web 10.1.1.1/24")
	if s.HostMAC != "52:54:00:12:34:56" {
		t.Fatalf("mac: host %+v", s)
	}
	s = mustParse(t, "--direct-phys eth3 web 10.2.0.2/24")
	if !s.DirectPhys {
		t.Fatal("direct-phys lost")
	}
	s = mustParse(t, "--mode ipvlan eth0 web 2001:db8::5/64@2001:db8::1")
	if s.Mode != "ipvlan" || s.Family != 6 || s.Gateway.String() != "2001:db8::1" {
		t.Fatalf("ipvlan v6: %+v", s)
	}
	s = mustParse(t, "route web add 10.9.0.0/16 via 10.0.0.1")
	if s.Action != "route" || s.Container != "web" || strings.Join(s.Args, " ") != "add 10.9.0.0/16 via 10.0.0.1" {
		t.Fatalf("route: %+v", s)
	}
	s = mustParse(t, "--wait -i eth3 --timeout 5s")
	if s.Action != "wait" || s.ContainerIf != "eth3" || s.Timeout.Seconds() != 5 {
		t.Fatalf("wait: %+v", s)
	}
	s = mustParse(t, "detach web -i eth2")
	if s.Action != "detach" || s.ContainerIf != "eth2" {
		t.Fatalf("detach: %+v", s)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		line, want string
		code       int
	}{
		{"br1 web 10.0.0.1", "The IP address should include a netmask.\nMaybe you meant 10.0.0.1/24 ?", ExitUsage},
		{"br1 web 10.0.0.300/24", `"10.0.0.300/24" is not an IP address with a prefix length (like 192.168.1.10/24)`, ExitUsage},
		{"br1 -a inet6 web 10.0.0.1/24", "-a inet6: the address family is 4 or 6", ExitUsage},
		{"br1 -a 6 web 10.0.0.1/24", "-a 6 with the IPv4 address 10.0.0.1", ExitUsage},
		{"br1 web 10.0.0.1/24@2001:db8::1", `gateway "2001:db8::1" is not an IPv4 address`, ExitUsage},
		{"br1 web 10.0.0.1/24 zz:zz", `"zz:zz" is not a MAC address (like 02:42:ac:11:00:02, or U:name)`, ExitUsage},
		{"br1 web 10.0.0.1/24 01:00:5e:00:00:01", "MAC 01:00:5e:00:00:01 is a multicast address: the first byte must be even", ExitUsage},
		{"br1 web 10.0.0.1/24 @5000", `VLAN "5000": a number from 1 to 4094 is expected`, ExitUsage},
		{"br1 -i averyveryverylongname web 10.0.0.1/24", `container interface name "averyveryverylongname": 1 to 15 characters, no '/', ':' or spaces`, ExitUsage},
		{"br1 web udhcpc", "udhcpc: host DHCP clients are not used (they touch the host's files); use dhcp[:OPTS]", ExitUsage},
		{"mac:nope web 10.0.0.1/24", "mac:nope: not a MAC address", ExitUsage},
		{"--mode vxlan eth0 web 10.0.0.1/24", `--mode "vxlan": use macvlan or ipvlan`, ExitUsage},
		{"route web", "pipework route CONTAINER ARGS...: arguments missing", ExitUsage},
		{"--wait --timeout soon", `--timeout "soon": a positive duration such as 30s is expected`, ExitUsage},
		{"br1 web 10.0.0.1/24 02:00:00:00:00:01 extra", `too many arguments: "extra"`, ExitUsage},
	} {
		_, err := Parse(strings.Fields(tt.line))
		ee, ok := err.(*ExitError)
		if !ok || ee.Error() != tt.want || ee.Code != tt.code {
			t.Errorf("Parse(%q) = %v, want %q (exit %d)", tt.line, err, tt.want, tt.code)
		}
	}
}

func TestDerivedMACIsStable(t *testing.T) {
	if !reflect.DeepEqual(derivedMAC("a"), derivedMAC("a")) {
		t.Error("U: MAC not stable")
	}
}
