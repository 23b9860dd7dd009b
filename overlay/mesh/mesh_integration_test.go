//go:build integration

package mesh

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func tasks(last ...string) []Backend {
	var bes []Backend
	for _, l := range last {
		bes = append(bes, Backend{IP: net.ParseIP("10.88.0." + l)})
	}
	return bes
}

// ingress is web: tcp port 81 on every local address, to port 80 of the tasks.
func ingress(last ...string) Frontend {
	bes := tasks(last...)
	for i := range bes {
		bes[i].Port = 80
	}
	return Frontend{Service: "web", Proto: "tcp", Port: 81, Backends: bes, Bridge: "swbr4242", SNAT: net.ParseIP("10.88.0.250")}
}

// vip is db: every protocol and port of 10.88.0.100, to the same port of the tasks.
func vip(last ...string) Frontend {
	return Frontend{Service: "db", Addr: net.ParseIP("10.88.0.100"), Backends: tasks(last...), Bridge: "swbr4242",
		SNAT: net.ParseIP("10.88.0.250")}
}

const (
	ingressAddr = "192.168.88.1:81"
	vipAddr     = "10.88.0.100:80"
	snat        = "10.88.0.250"
)

// forwardRules checks that the host's FORWARD chain holds n mesh rules.
func forwardRules(t *testing.T, x *topo, n int) {
	t.Helper()
	out := sh(t, "ip", "netns", "exec", x.host, "iptables", "-w", "5", "-S", "FORWARD")
	if got := strings.Count(out, `--comment "swarm routing mesh"`); got != n {
		t.Fatalf("%d mesh rules in FORWARD, want %d:\n%s", got, n, out)
	}
}

// tableThere says whether the host namespace has the mesh's table.
func tableThere(t *testing.T, x *topo) bool {
	c, err := nftables.New(nftables.WithNetNSFd(int(x.hns)))
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if tb.Name == DefaultTable {
			return true
		}
	}
	return false
}

// tracked says whether the host's conntrack table has the UDP flow from vc's port to the VIP, translated to task.
func tracked(t *testing.T, x *topo, port uint16, task string) bool {
	h, err := netlink.NewHandleAt(x.hns, unix.NETLINK_NETFILTER)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	flows, err := h.ConntrackTableList(netlink.ConntrackTable, unix.AF_INET)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flows {
		if f.Forward.Protocol == unix.IPPROTO_UDP && f.Forward.SrcPort == port && f.Forward.DstIP.Equal(net.ParseIP("10.88.0.100")) &&
			f.Reverse.SrcIP.Equal(net.ParseIP(task)) {
			return true
		}
	}
	return false
}

// udpFlowTo opens UDP sockets from vc to the VIP until one is answered by task; it returns that socket, open.
func udpFlowTo(t *testing.T, x *topo, task string) *net.UDPConn {
	for range 60 {
		var c net.Conn
		inNS(t, x.vc, func() {
			var err error
			if c, err = net.Dial("udp", vipAddr); err != nil {
				t.Fatal(err)
			}
		})
		if name, _, err := roundTrip(c); err == nil && name == task {
			return c.(*net.UDPConn)
		}
		c.Close()
	}
	t.Fatalf("no UDP flow reached %s", task)
	return nil
}

func TestIntegrationMesh(t *testing.T) {
	x := topology(t)
	m, err := New(Config{NetNS: x.hns})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	// Without the mesh, nothing answers.
	mustDescribe(t, m, "")
	refused(t, "ingress", ask(t, x.client, "tcp", ingressAddr, 3), 3)
	refused(t, "VIP", ask(t, x.vc, "tcp", vipAddr, 3), 3)

	// An ingress port.
	mustApply(t, m, ingress("2", "3"))
	mustDescribe(t, m, "web tcp *:81 -> 10.88.0.2:80 10.88.0.3:80 (snat 10.88.0.250 via swbr4242)\n")
	expect(t, "ingress", ask(t, x.client, "tcp", ingressAddr, 40), 40, snat, "t2", "t3")
	forwardRules(t, x, 2)
	// On the host itself, localhost too (the bridge routes 127.0.0.0/8; INPUT guards it).
	expect(t, "ingress on localhost", ask(t, x.host, "tcp", "127.0.0.1:81", 20), 20, snat, "t2", "t3")
	loopbackGuarded(t, x, m)

	// And a virtual IP, TCP and UDP.
	mustApply(t, m, vip("3", "2"), ingress("3", "2"))
	mustDescribe(t, m, "db all 10.88.0.100:* -> 10.88.0.2 10.88.0.3 (snat 10.88.0.250 via swbr4242)\n"+
		"web tcp *:81 -> 10.88.0.2:80 10.88.0.3:80 (snat 10.88.0.250 via swbr4242)\n")
	expect(t, "VIP tcp", ask(t, x.vc, "tcp", vipAddr, 20), 20, snat, "t2", "t3")
	expect(t, "VIP udp", ask(t, x.vc, "udp", vipAddr, 20), 20, snat, "t2", "t3")
	expect(t, "ingress with VIP", ask(t, x.client, "tcp", ingressAddr, 20), 20, snat, "t2", "t3")

	// Move from t2, t3 to t3, t4: a UDP flow to t2 is forgotten, new connections never reach t2.
	flow := udpFlowTo(t, x, "t2")
	defer flow.Close()
	port := uint16(flow.LocalAddr().(*net.UDPAddr).Port)
	if !tracked(t, x, port, "10.88.0.2") {
		t.Fatal("the UDP flow to t2 is not in conntrack")
	}
	moved := []Frontend{ingress("3", "4"), vip("3", "4")}
	mustApply(t, m, moved...)
	if tracked(t, x, port, "10.88.0.2") {
		t.Fatal("the UDP flow to the removed t2 is still in conntrack after Apply")
	}
	expect(t, "ingress moved", ask(t, x.client, "tcp", ingressAddr, 40), 40, snat, "t3", "t4")
	if name, _, err := roundTrip(flow); err != nil || (name != "t3" && name != "t4") {
		t.Fatalf("the old UDP flow after the move: %q %v", name, err)
	}
	want := "db all 10.88.0.100:* -> 10.88.0.3 10.88.0.4 (snat 10.88.0.250 via swbr4242)\n" +
		"web tcp *:81 -> 10.88.0.3:80 10.88.0.4:80 (snat 10.88.0.250 via swbr4242)\n"
	mustDescribe(t, m, want)

	// Invalid input changes nothing.
	bad := ingress("3")
	bad.Proto = "sctp"
	if err := m.Apply(append(moved, bad)); err == nil || !strings.Contains(err.Error(), "sctp") {
		t.Fatalf("Apply of an sctp frontend: %v", err)
	}
	mustDescribe(t, m, want)

	// Flush leaves nothing; twice is fine.
	for range 2 {
		if err := m.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if tableThere(t, x) {
		t.Fatal("table still there after Flush")
	}
	forwardRules(t, x, 0)
	mustDescribe(t, m, "")
	refused(t, "ingress after Flush", ask(t, x.client, "tcp", ingressAddr, 3), 3)

	// Apply again after Flush.
	mustApply(t, m, moved...)
	mustDescribe(t, m, want)
	forwardRules(t, x, 2)
	expect(t, "ingress after re-Apply", ask(t, x.client, "tcp", ingressAddr, 20), 20, snat, "t3", "t4")

	// A restart: another Mesh on the namespace, the same state, the same table.
	m.Close()
	m2, err := New(Config{NetNS: x.hns})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	mustApply(t, m2, moved...)
	mustDescribe(t, m2, want)
	forwardRules(t, x, 2)
	expect(t, "VIP after restart", ask(t, x.vc, "tcp", vipAddr, 20), 20, snat, "t3", "t4")

	// No frontends: an empty table, still ours.
	mustApply(t, m2)
	mustDescribe(t, m2, "")
	if !tableThere(t, x) {
		t.Fatal("Apply of nothing removed the table")
	}
	refused(t, "ingress with an empty table", ask(t, x.client, "tcp", ingressAddr, 3), 3)
	if err := m2.Flush(); err != nil {
		t.Fatal(err)
	}
}

// loopbackGuarded checks that a container on the bridge cannot reach the host's loopback services, though the
// bridge routes 127.0.0.0/8 for the mesh: vc, made to send to 127.0.0.99 through its gateway, gets no answer
// from a server there; with the mesh's INPUT rule deleted it would (so the check can fail), and an Apply puts
// the rule back.
func loopbackGuarded(t *testing.T, x *topo, m *Mesh) {
	t.Helper()
	const guard = "-d 127.0.0.0/8 -i swbr+ -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -m comment --comment swarm\\ routing\\ mesh -j DROP"
	var ln net.Listener
	inNS(t, x.host, func() {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.99:9999"); err != nil {
			t.Fatal(err)
		}
	})
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	sh(t, "ip", "-n", x.vc, "route", "del", "local", "127.0.0.0/8", "dev", "lo", "table", "local")
	sh(t, "ip", "netns", "exec", x.vc, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/eth0/route_localnet")
	sh(t, "ip", "-n", x.vc, "route", "add", "127.0.0.99/32", "via", "10.88.0.1")
	reached := func() bool {
		ok := false
		inNS(t, x.vc, func() {
			if c, err := net.DialTimeout("tcp", "127.0.0.99:9999", time.Second); err == nil {
				ok = true
				c.Close()
			}
		})
		return ok
	}
	if reached() {
		t.Fatal("a container reached the host's loopback through the bridge")
	}
	sh(t, "ip", "netns", "exec", x.host, "sh", "-c", "iptables -w 5 -D INPUT "+guard)
	if !reached() {
		t.Fatal("without the guard the container still cannot reach the host's loopback: this check proves nothing")
	}
	mustApply(t, m, ingress("2", "3"))
	if reached() {
		t.Fatal("after Apply a container reaches the host's loopback: the guard was not put back")
	}
}
