package lease

import (
	"net"
	"strings"
	"testing"
)

func TestParseLabel(t *testing.T) {
	for _, tc := range []struct{ in, ip, pool, cmd, err string }{
		{in: "br0 192.168.116.114/24@192.168.116.1", ip: "192.168.116.114", cmd: "br0 C 192.168.116.114/24@192.168.116.1"},
		{in: "eth0 -i eth1 10.0.0.5/16", ip: "10.0.0.5", cmd: "eth0 -i eth1 C 10.0.0.5/16"},
		{in: "eth0 pool:lan", pool: "lan", cmd: "eth0 C "},
		{in: "eth0", err: `invalid com.docker.swarm.pipework label "eth0": use "HOSTIF IP/LEN[@GW]" or "HOSTIF pool:NAME"`},
		{in: "eth0 pool:", err: `invalid com.docker.swarm.pipework label "eth0 pool:": pool: needs a pool name`},
		{in: "eth0 dhcp", err: `invalid com.docker.swarm.pipework label "eth0 dhcp": a fixed IP/LEN[@GW] or pool:NAME is needed`},
		{in: "eth0 10.0.0.300/24", err: "invalid com.docker.swarm.pipework label"},
	} {
		r, err := ParseLabel(tc.in)
		if tc.err != "" {
			if err == nil || len(err.Error()) < len(tc.err) || err.Error()[:len(tc.err)] != tc.err {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if got := ipString(r.IP()); got != tc.ip || r.Pool != tc.pool {
			t.Errorf("%q: ip %q pool %q", tc.in, got, r.Pool)
		}
		if got := join(r.Command("C")); got != tc.cmd {
			t.Errorf("%q: command %q, want %q", tc.in, got, tc.cmd)
		}
		if r.String() != tc.in {
			t.Errorf("%q renders back as %q", tc.in, r.String())
		}
	}
}

func TestParsePool(t *testing.T) {
	p, err := ParsePool("lan", "10.99.0.0/24", "10.99.0.200-10.99.0.202@10.99.0.1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for ip := p.first(); !after(ip, p.last()); ip = next(ip) {
		got = append(got, p.Spec(ip))
	}
	if join(got) != "10.99.0.200/24@10.99.0.1 10.99.0.201/24@10.99.0.1 10.99.0.202/24@10.99.0.1" {
		t.Fatalf("pool walks %v", got)
	}
	for _, bad := range [][3]string{
		{"lan", "10.99.0.0/33", "10.99.0.1-10.99.0.2"},
		{"lan", "10.99.0.0/24", "10.99.0.9-10.99.0.2"},
		{"lan", "10.99.0.0/24", "10.99.1.1-10.99.1.2"},
		{"l/n", "10.99.0.0/24", "10.99.0.1-10.99.0.2"},
		{"lan", "10.99.0.0/24", "10.99.0.1-10.99.0.2@gw"},
	} {
		if _, err := ParsePool(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("ParsePool%v accepted", bad)
		}
	}
	if next(net.ParseIP("10.0.0.255")).String() != "10.0.1.0" {
		t.Fatal("next does not carry")
	}
}

func ipString(ip net.IP) string {
	if ip == nil {
		return ""
	}
	return ip.String()
}

func join(s []string) string { return strings.Join(s, " ") }
