package pipework

import (
	"strings"
	"testing"

	"swarm/pipework/cmdline"
)

func mustParse(t *testing.T, line string) *cmdline.Spec {
	t.Helper()
	s, err := cmdline.Parse(strings.Fields(line))
	if err != nil {
		t.Fatalf("Parse(%q): %v", line, err)
	}
	return s
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
}
