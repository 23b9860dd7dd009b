package pipework

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

func ops(steps []Step) string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Op+":"+s.Name)
	}
	return strings.Join(out, " ")
}

func TestPlan(t *testing.T) {
	host := map[string]Link{"eth0": {Name: "eth0", Type: "device", MTU: 9000}, "br0": {Name: "br0", Type: "bridge", MTU: 1400},
		"eth0.7": {Name: "eth0.7", Type: "vlan"}}
	st := &State{ContainerID: "0123456789abcdef", HostLinks: host, ContainerLinks: map[string]Link{"eth0": {Name: "eth0"}}}
	local := hostName(st.ContainerID, "eth1")
	for _, tt := range []struct{ line, want string }{
		{"br0 c 10.0.0.2/24", "create-veth:" + local + " configure:eth1"},
		{"br9 c 10.0.0.2/24", "create-bridge:br9 create-veth:" + local + " configure:eth1"},
		{"eth0 c 10.0.0.2/24", "create-macvlan:eth1 configure:eth1"},
		{"--mode ipvlan eth0 c 10.0.0.2/24", "create-ipvlan:eth1 configure:eth1"},
		{"eth0 c 10.0.0.2/24 @7", "create-macvlan:eth1 configure:eth1"},
		{"eth0 c 10.0.0.2/24 @8", "create-vlan:eth0.8 create-macvlan:eth1 configure:eth1"},
		{"dummy3 c 10.0.0.2/24", "create-dummy:eth1 configure:eth1"},
		{"--direct-phys eth0 c 10.0.0.2/24", "move-link:eth0 configure:eth1"},
	} {
		steps, err := Plan(mustParse(t, tt.line), st)
		if err != nil || ops(steps) != tt.want {
			t.Errorf("%s: %q %v, want %q", tt.line, ops(steps), err, tt.want)
		}
	}
	// Open vSwitch: a bridge it knows (its local port may not even be a host link with a userspace datapath),
	// or a missing one named ovs*; a VLAN becomes the port's tag.
	ovs := &State{ContainerID: st.ContainerID, HostLinks: host, ContainerLinks: st.ContainerLinks, OVSBridges: map[string]bool{"sw0": true}}
	for _, tt := range []struct{ line, want string }{
		{"sw0 c 10.0.0.2/24", "create-veth:" + local + " ovs-add-port:" + local + " configure:eth1"},
		{"ovsbr2 c 10.0.0.2/24", "create-ovs-bridge:ovsbr2 create-veth:" + local + " ovs-add-port:" + local + " configure:eth1"},
		{"br0 c 10.0.0.2/24", "create-veth:" + local + " configure:eth1"},
	} {
		steps, err := Plan(mustParse(t, tt.line), ovs)
		if err != nil || ops(steps) != tt.want {
			t.Errorf("%s: %q %v, want %q", tt.line, ops(steps), err, tt.want)
		}
	}
	if steps, err := Plan(mustParse(t, "sw0 c 10.0.0.2/24 @12"), ovs); err != nil || steps[0].Parent != "" ||
		steps[1].Parent != "sw0" || steps[1].VLAN != 12 || steps[0].MTU != 1500 {
		t.Errorf("Open vSwitch steps with a VLAN: %+v %v", steps, err)
	}
	steps, _ := Plan(mustParse(t, "br0 c 10.0.0.2/24@10.0.0.1"), st)
	if v := steps[0]; v.MTU != 1400 || v.Parent != "br0" || v.Peer != "eth1" || len(v.Name) > 15 {
		t.Errorf("veth step %+v", v)
	}
	if c := steps[1]; c.Addr != "10.0.0.2/24" || c.Gateway != "10.0.0.1" {
		t.Errorf("configure step %+v", c)
	}
	if steps, _ := Plan(mustParse(t, "eth0 c 10.0.0.2/24"), st); steps[0].MTU != 9000 {
		t.Errorf("MTU not copied from the host interface: %+v", steps[0])
	}
	// the same call again: nothing to do
	done := &State{ContainerID: st.ContainerID, HostLinks: host, ContainerLinks: map[string]Link{
		"eth1": {Name: "eth1", Alias: "pipework:br0", Addrs: []string{"10.0.0.2/24"}}}}
	if steps, err := Plan(mustParse(t, "br0 c 10.0.0.2/24"), done); err != nil || len(steps) != 0 {
		t.Errorf("second identical call: %v %v", steps, err)
	}
	for _, tt := range []struct{ line, want string }{
		{"br0 c 10.0.0.9/24", "interface eth1 already exists in container 0123456789ab; choose another with -i"},
		{"nosuch c 10.0.0.2/24", "I do not know how to setup interface nosuch."},
		{"br0 c 10.0.0.2/24 @5", "VLAN configuration currently unsupported for Linux bridge."},
		{"br0 -l eth0 c2 10.0.0.2/24", "Link eth0 exists on the host: remove it or choose another with -l"},
	} {
		s := mustParse(t, tt.line)
		_, err := Plan(s, map[bool]*State{true: done, false: st}[strings.Contains(tt.line, "10.0.0.9")])
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: %v, want %q", tt.line, err, tt.want)
		}
	}
	if n := hostName(strings.Repeat("f", 64), "eth1"); len(n) > 15 || n != hostName(strings.Repeat("f", 64), "eth1") {
		t.Errorf("host name %q", n)
	}
	if !reflect.DeepEqual(derivedMAC("a"), derivedMAC("a")) {
		t.Error("U: MAC not stable")
	}
}
