//go:build integration

package dataplane

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os/exec"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// The test hosts and containers are network namespaces named dpt<random>-*: nothing is made in the namespace the
// test runs in, so tests elsewhere on the machine are not disturbed. Addresses: underlay 192.168.77.0/24 (and
// 192.168.78.0/24), cluster network 10.77.0.0/24.

const testVNI = 4242

func sh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func prefix(t *testing.T) string {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "dpt" + hex.EncodeToString(b) + "-"
}

// namespace makes a named network namespace, removed at cleanup, with lo up, and a netlink handle in it.
func namespace(t *testing.T, name string) *netlink.Handle {
	t.Helper()
	sh(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	sh(t, "ip", "-n", name, "link", "set", "lo", "up")
	ns, err := netns.GetFromName(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// host is one test host: its namespace, handle and Plane.
type host struct {
	ns    string
	h     *netlink.Handle
	plane *Plane
	vtep  net.IP
}

// twoHosts makes two hosts joined by a veth pair ul0 with addresses 192.168.77.1 and .2.
func twoHosts(t *testing.T, pre string) [2]*host {
	var hs [2]*host
	for i := range hs {
		hs[i] = &host{ns: pre + "h" + string(rune('1'+i)), vtep: net.IPv4(192, 168, 77, byte(1+i)).To4()}
		hs[i].h = namespace(t, hs[i].ns)
	}
	sh(t, "ip", "-n", hs[0].ns, "link", "add", "ul0", "type", "veth", "peer", "name", "ul0", "netns", hs[1].ns)
	for _, x := range hs {
		sh(t, "ip", "-n", x.ns, "addr", "add", x.vtep.String()+"/24", "dev", "ul0")
		sh(t, "ip", "-n", x.ns, "link", "set", "ul0", "up")
		p, err := New(Config{VTEP: x.vtep, Handle: x.h, Firewall: nsFirewall(x.ns)})
		if err != nil {
			t.Fatal(err)
		}
		x.plane = p
	}
	return hs
}

// container moves the container end of a veth pair from host x into a new namespace as eth0 with addr.
func container(t *testing.T, x *host, name, ifname, addr string) {
	namespace(t, name)
	sh(t, "ip", "-n", x.ns, "link", "set", ifname, "netns", name)
	sh(t, "ip", "-n", name, "link", "set", ifname, "name", "eth0")
	sh(t, "ip", "-n", name, "addr", "add", addr, "dev", "eth0")
	sh(t, "ip", "-n", name, "link", "set", "eth0", "up")
}

// ping pings ip once from namespace ns (ping, or busybox's where there is none).
func ping(ns, ip string) error {
	cmd := []string{"ip", "netns", "exec", ns, "ping", "-c1", "-W2", ip}
	if _, err := exec.LookPath("ping"); err != nil {
		cmd = append(cmd[:4], append([]string{"busybox"}, cmd[4:]...)...)
	}
	return exec.Command(cmd[0], cmd[1:]...).Run()
}

func mustPing(t *testing.T, ns, ip string) {
	t.Helper()
	var err error
	for range 3 {
		if err = ping(ns, ip); err == nil {
			return
		}
	}
	t.Fatalf("%s cannot ping %s: %v", ns, ip, err)
}

func link(t *testing.T, h *netlink.Handle, name string) netlink.Link {
	t.Helper()
	l, err := h.LinkByName(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return l
}

func gone(t *testing.T, h *netlink.Handle, names ...string) {
	t.Helper()
	for _, n := range names {
		if l, err := h.LinkByName(n); err == nil {
			t.Errorf("%s still there (%s)", n, l.Type())
		}
	}
}

// entries is the permanent FDB and neighbour entries of the network's VXLAN device on x.
func entries(t *testing.T, x *host) (fdb, neigh map[string][]string) {
	t.Helper()
	idx := link(t, x.h, VXLANName(testVNI)).Attrs().Index
	fdb, err := x.plane.fdbEntries(idx)
	if err != nil {
		t.Fatal(err)
	}
	if neigh, err = x.plane.neighEntries(idx); err != nil {
		t.Fatal(err)
	}
	return fdb, neigh
}

func vxStats(t *testing.T, x *host) (tx, rx uint64) {
	s := link(t, x.h, VXLANName(testVNI)).Attrs().Statistics
	return s.TxPackets, s.RxPackets
}

func TestIntegrationTwoHosts(t *testing.T) {
	pre := prefix(t)
	hs := twoHosts(t, pre)
	ids := [2]string{"d0d0000000000001", "d0d0000000000002"}
	macs := [2]net.HardwareAddr{{0x02, 0x42, 0x0a, 0x4d, 0, 1}, {0x02, 0x42, 0x0a, 0x4d, 0, 2}}
	ips := [2]string{"10.77.0.1", "10.77.0.2"}
	ctrs := [2]string{pre + "c1", pre + "c2"}
	_, gw, _ := net.ParseCIDR("10.77.0.254/24")
	gw.IP = net.ParseIP("10.77.0.254")

	for i, x := range hs {
		for range 2 { // idempotent
			if err := x.plane.EnsureNetwork(Network{VNI: testVNI, BridgeIP: gw}); err != nil {
				t.Fatal(err)
			}
		}
		br, vx := link(t, x.h, BridgeName(testVNI)), link(t, x.h, VXLANName(testVNI)).(*netlink.Vxlan)
		if br.Attrs().MTU != 1450 || vx.MTU != 1450 || vx.MasterIndex != br.Attrs().Index || vx.Port != DefaultPort ||
			vx.VxlanId != testVNI || !vx.SrcAddr.Equal(x.vtep) || vx.Learning || !vx.Proxy {
			t.Fatalf("host %d: bridge MTU %d, VXLAN %+v", i, br.Attrs().MTU, vx)
		}
		if addrs, _ := x.h.AddrList(br, netlink.FAMILY_V4); len(addrs) != 1 || addrs[0].IPNet.String() != "10.77.0.254/24" {
			t.Fatalf("host %d: bridge addresses %v", i, addrs)
		}
		var ifname string
		for range 2 { // idempotent
			name, err := x.plane.AddEndpoint(testVNI, Endpoint{ID: ids[i], MAC: macs[i]})
			if err != nil || name != "swc"+ids[i][:10] {
				t.Fatalf("AddEndpoint: %q %v", name, err)
			}
			ifname = name
		}
		if h := link(t, x.h, "swh"+ids[i][:10]); h.Attrs().MasterIndex != br.Attrs().Index || h.Attrs().MTU != 1450 {
			t.Fatalf("host end %+v", h.Attrs())
		}
		container(t, x, ctrs[i], ifname, ips[i]+"/24")
		if out := sh(t, "ip", "-n", ctrs[i], "link", "show", "eth0"); !strings.Contains(out, "mtu 1450") || !strings.Contains(out, macs[i].String()) {
			t.Fatalf("container %d eth0: %s", i, out)
		}
		if name, err := x.plane.AddEndpoint(testVNI, Endpoint{ID: ids[i], MAC: macs[i]}); err != nil || name != ifname {
			t.Fatalf("AddEndpoint after the move: %q %v", name, err)
		}
	}

	all := []Peer{
		{IP: net.ParseIP(ips[0]), MAC: macs[0], VTEP: hs[0].vtep},
		{IP: net.ParseIP(ips[1]), MAC: macs[1], VTEP: hs[1].vtep},
	}
	for _, x := range hs {
		for range 2 {
			if err := x.plane.SetPeers(testVNI, all); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, x := range hs {
		o := 1 - i
		fdb, neigh := entries(t, x)
		wantFDB := map[string][]string{macs[o].String(): {hs[o].vtep.String()}}
		wantNeigh := map[string][]string{ips[o]: {macs[o].String()}}
		if !reflect.DeepEqual(fdb, wantFDB) || !reflect.DeepEqual(neigh, wantNeigh) {
			t.Fatalf("host %d: FDB %v neighbours %v; want %v %v", i, fdb, neigh, wantFDB, wantNeigh)
		}
	}

	tx0, rx0 := vxStats(t, hs[0])
	tx1, rx1 := vxStats(t, hs[1])
	mustPing(t, ctrs[0], ips[1])
	mustPing(t, ctrs[1], ips[0])
	tx0b, rx0b := vxStats(t, hs[0])
	tx1b, rx1b := vxStats(t, hs[1])
	t.Logf("VXLAN packets: host 1 tx %d→%d rx %d→%d, host 2 tx %d→%d rx %d→%d", tx0, tx0b, rx0, rx0b, tx1, tx1b, rx1, rx1b)
	if tx0b < tx0+2 || rx0b < rx0+2 || tx1b < tx1+2 || rx1b < rx1+2 {
		t.Fatal("the pings did not cross the VXLAN devices")
	}
	// No flooding and no learning: the container's ARP answer came from the VXLAN device's neighbour table.
	if out := sh(t, "ip", "-n", ctrs[0], "neigh", "show", ips[1]); !strings.Contains(out, macs[1].String()) {
		t.Fatalf("container 1 did not resolve %s: %q", ips[1], out)
	}

	// A changed VTEP is replaced in place; traffic follows it.
	moved := []Peer{{IP: net.ParseIP(ips[1]), MAC: macs[1], VTEP: net.ParseIP("192.168.77.99")}}
	if err := hs[0].plane.SetPeers(testVNI, moved); err != nil {
		t.Fatal(err)
	}
	if fdb, _ := entries(t, hs[0]); !reflect.DeepEqual(fdb, map[string][]string{macs[1].String(): {"192.168.77.99"}}) {
		t.Fatalf("FDB after the move %v", fdb)
	}
	if ping(ctrs[0], ips[1]) == nil {
		t.Fatal("ping crossed with the peer's VTEP wrong")
	}
	if err := hs[0].plane.SetPeers(testVNI, all); err != nil {
		t.Fatal(err)
	}
	mustPing(t, ctrs[0], ips[1])

	if vnis, err := hs[0].plane.Networks(); err != nil || !reflect.DeepEqual(vnis, []uint32{testVNI}) {
		t.Fatalf("Networks: %v %v", vnis, err)
	}

	// No peers: the entries go, the bridge's own entry for its VXLAN port stays, traffic stops.
	for i, x := range hs {
		if err := x.plane.SetPeers(testVNI, nil); err != nil {
			t.Fatal(err)
		}
		if fdb, neigh := entries(t, x); len(fdb) != 0 || len(neigh) != 0 {
			t.Fatalf("host %d: entries left: FDB %v neighbours %v", i, fdb, neigh)
		}
		if !bridgeKnowsPort(t, x) {
			t.Fatalf("host %d: the bridge's permanent entry for the VXLAN port is gone", i)
		}
	}
	if ping(ctrs[0], ips[1]) == nil || ping(ctrs[1], ips[0]) == nil {
		t.Fatal("ping crossed with no peers set")
	}

	for i, x := range hs {
		for range 2 {
			if err := x.plane.RemoveEndpoint(ids[i]); err != nil {
				t.Fatal(err)
			}
			if err := x.plane.RemoveNetwork(testVNI); err != nil {
				t.Fatal(err)
			}
		}
		gone(t, x.h, BridgeName(testVNI), VXLANName(testVNI), "swh"+ids[i][:10], "swc"+ids[i][:10])
		if out := sh(t, "ip", "-n", ctrs[i], "-o", "link"); strings.Contains(out, "eth0") {
			t.Errorf("container %d still has eth0: %s", i, out)
		}
		if vnis, err := x.plane.Networks(); err != nil || len(vnis) != 0 {
			t.Errorf("Networks after removal: %v %v", vnis, err)
		}
	}
}

// bridgeKnowsPort tells whether the bridge still holds its permanent entry for the VXLAN device's address.
func bridgeKnowsPort(t *testing.T, x *host) bool {
	vx := link(t, x.h, VXLANName(testVNI))
	list, err := x.h.NeighList(vx.Attrs().Index, syscall.AF_BRIDGE)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range list {
		if n.MasterIndex != 0 && n.State&netlink.NUD_PERMANENT != 0 && n.HardwareAddr.String() == vx.Attrs().HardwareAddr.String() {
			return true
		}
	}
	return false
}

// oneHost is a host with an underlay link (a veth, the kernel here has no dummy) of the given MTU holding 192.168.78.1.
func oneHost(t *testing.T, mtu string) *host {
	x := &host{ns: prefix(t) + "h", vtep: net.ParseIP("192.168.78.1")}
	x.h = namespace(t, x.ns)
	sh(t, "ip", "-n", x.ns, "link", "add", "ul0", "mtu", mtu, "type", "veth", "peer", "name", "ul1")
	sh(t, "ip", "-n", x.ns, "addr", "add", "192.168.78.1/24", "dev", "ul0")
	sh(t, "ip", "-n", x.ns, "link", "set", "ul0", "up")
	p, err := New(Config{VTEP: x.vtep, Handle: x.h, Firewall: nsFirewall(x.ns)})
	if err != nil {
		t.Fatal(err)
	}
	x.plane = p
	return x
}

func TestIntegrationChecks(t *testing.T) {
	x := oneHost(t, "9000")
	if _, err := New(Config{VTEP: net.ParseIP("192.168.78.9"), Handle: x.h}); err == nil ||
		!strings.Contains(err.Error(), "not an address of any link") {
		t.Errorf("New with a foreign VTEP: %v", err)
	}
	// No handle: the test's own namespace, where 127.0.0.1 is on lo (only read).
	if p, err := New(Config{VTEP: net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Errorf("New in the current namespace: %v", err)
	} else {
		p.Close()
	}

	// Underlay MTU 9000: devices 8950. An explicit network MTU and endpoint MTU win.
	if err := x.plane.EnsureNetwork(Network{VNI: 4250}); err != nil {
		t.Fatal(err)
	}
	if m := link(t, x.h, "swvx4250").Attrs().MTU; m != 8950 {
		t.Errorf("VXLAN MTU %d on a 9000 underlay, want 8950", m)
	}
	if err := x.plane.EnsureNetwork(Network{VNI: 4251, MTU: 1400}); err != nil {
		t.Fatal(err)
	}
	if b, v := link(t, x.h, "swbr4251").Attrs().MTU, link(t, x.h, "swvx4251").Attrs().MTU; b != 1400 || v != 1400 {
		t.Errorf("MTU bridge %d VXLAN %d, want 1400", b, v)
	}
	ifname, err := x.plane.AddEndpoint(4251, Endpoint{ID: "abcdef0123456789", MTU: 1300})
	if err != nil {
		t.Fatal(err)
	}
	if m := link(t, x.h, ifname).Attrs().MTU; m != 1300 {
		t.Errorf("container end MTU %d, want 1300", m)
	}
	if link(t, x.h, ifname).Attrs().OperState == netlink.OperUp {
		t.Error("container end is up")
	}

	// A device of another kind is refused, clearly.
	sh(t, "ip", "-n", x.ns, "link", "add", "swbr4243", "type", "veth", "peer", "name", "swbr4243p")
	if err := x.plane.EnsureNetwork(Network{VNI: 4243}); err == nil || !strings.Contains(err.Error(), "is a veth, not a bridge") {
		t.Errorf("EnsureNetwork over a dummy swbr4243: %v", err)
	}

	// A VXLAN device with the wrong settings is made again.
	sh(t, "ip", "-n", x.ns, "link", "add", "swvx4244", "type", "vxlan", "id", "9", "dstport", "8472", "local", "192.168.78.1")
	if err := x.plane.EnsureNetwork(Network{VNI: 4244}); err != nil {
		t.Fatal(err)
	}
	vx := link(t, x.h, "swvx4244").(*netlink.Vxlan)
	if vx.VxlanId != 4244 || vx.Port != DefaultPort || vx.Learning || !vx.Proxy || vx.MasterIndex != link(t, x.h, "swbr4244").Attrs().Index {
		t.Errorf("swvx4244 not fixed: %+v", vx)
	}

	// A missing network is an error for endpoints and peers.
	if _, err := x.plane.AddEndpoint(4245, Endpoint{ID: "abcdef0123456789"}); err == nil || !strings.Contains(err.Error(), "swbr4245 is missing") {
		t.Errorf("AddEndpoint on a missing network: %v", err)
	}
	if err := x.plane.SetPeers(4245, nil); err == nil || !strings.Contains(err.Error(), "swvx4245 is missing") {
		t.Errorf("SetPeers on a missing network: %v", err)
	}

	if vnis, err := x.plane.Networks(); err != nil || !reflect.DeepEqual(vnis, []uint32{4244, 4250, 4251}) {
		t.Errorf("Networks: %v %v", vnis, err)
	}

	// The container's namespace destroyed with the pair in it: RemoveEndpoint is fine.
	c := x.ns + "c"
	container(t, x, c, ifname, "10.77.1.1/24")
	sh(t, "ip", "netns", "del", c)
	if err := x.plane.RemoveEndpoint("abcdef0123456789"); err != nil {
		t.Fatal(err)
	}
	gone(t, x.h, "swhabcdef0123")
}

// nsFirewall is the iptables of namespace ns.
func nsFirewall(ns string) IPTables {
	return IPTables{Prefix: []string{"nsenter", "--net=/var/run/netns/" + ns}}
}

// forwardRules counts the FORWARD rules of namespace ns that accept what crosses bridge.
func forwardRules(t *testing.T, ns, bridge string) int {
	t.Helper()
	out, err := exec.Command("nsenter", "--net=/var/run/netns/"+ns, "iptables", "-S", "FORWARD").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables -S FORWARD in %s: %v %s", ns, err, out)
	}
	return strings.Count(string(out), "-i "+bridge+" -o "+bridge+" ")
}

// A network's bridge is opened to forwarding even where the FORWARD policy drops (as an engine sets it), once
// however often it is ensured, and closed again when the network goes.
func TestTheBridgeForwardsUnderADropPolicy(t *testing.T) {
	x := oneHost(t, "1500")
	sh(t, "nsenter", "--net=/var/run/netns/"+x.ns, "iptables", "-P", "FORWARD", "DROP")
	for range 2 {
		if err := x.plane.EnsureNetwork(Network{VNI: 4260}); err != nil {
			t.Fatal(err)
		}
	}
	if n := forwardRules(t, x.ns, BridgeName(4260)); n != 1 {
		t.Fatalf("%d FORWARD rules for %s, want 1", n, BridgeName(4260))
	}
	for range 2 {
		if err := x.plane.RemoveNetwork(4260); err != nil {
			t.Fatal(err)
		}
	}
	if n := forwardRules(t, x.ns, BridgeName(4260)); n != 0 {
		t.Fatalf("%d FORWARD rules left for %s", n, BridgeName(4260))
	}
}
