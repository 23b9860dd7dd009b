package mesh

import (
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	vnl "github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func ip(s string) net.IP { return net.ParseIP(s) }

func be(s string, port uint16) Backend { return Backend{IP: ip(s), Port: port} }

// web is a valid ingress frontend.
func web() Frontend {
	return Frontend{Service: "web", Proto: "tcp", Port: 81, Backends: []Backend{be("10.0.0.4", 80), be("10.0.0.3", 80)},
		Bridge: "swbr4096", SNAT: ip("10.0.0.250")}
}

// db is a valid virtual-IP frontend for every protocol.
func db() Frontend {
	return Frontend{Service: "db", Addr: ip("10.0.0.100"), Backends: []Backend{be("10.0.0.3", 0), be("10.0.0.4", 0)},
		Bridge: "swbr4096", SNAT: ip("10.0.0.250")}
}

func TestValidationRefuses(t *testing.T) {
	for _, c := range []struct {
		want string
		edit func(*Frontend)
	}{
		{"bad protocol \"sctp\"", func(f *Frontend) { f.Proto = "sctp" }},
		{"needs a protocol and a port", func(f *Frontend) { f.Port = 0 }},
		{"needs a protocol and a port", func(f *Frontend) { f.Proto = "" }},
		{"port 81 without a protocol", func(f *Frontend) { f.Proto, f.Addr = "", ip("10.0.0.100") }},
		{"only IPv4 virtual IPs", func(f *Frontend) { f.Addr = ip("fd00::1") }},
		{"only IPv4 virtual IPs", func(f *Frontend) { f.Addr = ip("0.0.0.0") }},
		{"SNAT <nil>", func(f *Frontend) { f.SNAT = nil }},
		{"SNAT fd00::2", func(f *Frontend) { f.SNAT = ip("fd00::2") }},
		{"bad bridge \"\"", func(f *Frontend) { f.Bridge = "" }},
		{"bad bridge \"a-name-far-too-long\"", func(f *Frontend) { f.Bridge = "a-name-far-too-long" }},
		{"bad bridge \"br/0\"", func(f *Frontend) { f.Bridge = "br/0" }},
		{"backend fd00::3: not an IPv4", func(f *Frontend) { f.Backends[0].IP = ip("fd00::3") }},
		{"backend <nil>: not an IPv4", func(f *Frontend) { f.Backends[0].IP = nil }},
		{"backend 10.0.0.3:80 twice", func(f *Frontend) { f.Backends[0] = be("10.0.0.3", 80) }},
		{"bad service name \"my web\"", func(f *Frontend) { f.Service = "my web" }},
	} {
		f := web()
		f.Backends = append([]Backend{}, f.Backends...)
		c.edit(&f)
		_, err := normalize([]Frontend{db(), f})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "frontend 1 (") {
			t.Errorf("%+v: got %v, want %q", f, err, c.want)
		}
	}
}

func TestValidationConflicts(t *testing.T) {
	other := web()
	other.Service = "web2"
	if _, err := normalize([]Frontend{web(), other}); err == nil || !strings.Contains(err.Error(), "web and web2 both claim tcp *:81") {
		t.Errorf("same port twice: %v", err)
	}
	other.Port, other.SNAT = 82, ip("10.0.0.251")
	if _, err := normalize([]Frontend{web(), other}); err == nil || !strings.Contains(err.Error(), "bridge swbr4096 with two SNAT") {
		t.Errorf("two SNAT on a bridge: %v", err)
	}
	vip := db()
	vip.Backends = []Backend{be("10.0.0.3", 80)}
	if _, err := normalize([]Frontend{vip}); err == nil || !strings.Contains(err.Error(), "a port needs the frontend's protocol") {
		t.Errorf("backend port without protocol: %v", err)
	}
}

func TestNormalizeOrder(t *testing.T) {
	vipTCP := db()
	vipTCP.Service, vipTCP.Proto = "dbtcp", "tcp"
	vip80 := vipTCP
	vip80.Service, vip80.Port = "db80", 80
	empty := web()
	empty.Service, empty.Port, empty.Backends, empty.Bridge, empty.SNAT = "idle", 90, nil, "", nil
	got, err := normalize([]Frontend{web(), empty, db(), vipTCP, vip80})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fe := range got {
		names = append(names, fe.Service)
	}
	if want := []string{"db80", "dbtcp", "db", "web"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("order %v, want %v", names, want)
	}
	w := got[3]
	if len(w.SNAT) != 4 || len(w.Backends[0].IP) != 4 || w.Backends[0].String() != "10.0.0.3:80" || w.Backends[1].String() != "10.0.0.4:80" {
		t.Fatalf("not normalized: %+v", w)
	}
	if len(got[0].Addr) != 4 {
		t.Fatalf("address not 4 bytes: %v", got[0].Addr)
	}
}

func TestDispatchRoundTrip(t *testing.T) {
	vipTCP := db()
	vipTCP.Proto = "udp"
	vip53 := vipTCP
	vip53.Port = 53
	for _, fe := range []Frontend{web(), db(), vipTCP, vip53} {
		n, err := normalize([]Frontend{fe})
		if err != nil {
			t.Fatal(err)
		}
		got, target, ok := decode(dispatchExprs(n[0], "fe-7")).dispatch()
		if !ok || target != "fe-7" || !got.Addr.Equal(n[0].Addr) || (got.Addr == nil) != (n[0].Addr == nil) ||
			got.Proto != n[0].Proto || got.Port != n[0].Port {
			t.Errorf("%s: decoded %+v %q %v", front(n[0]), got, target, ok)
		}
	}
}

func TestNATRoundTrip(t *testing.T) {
	for _, b := range []Backend{be("10.0.0.3", 80), be("10.0.0.4", 0)} {
		got, ok := decode(dnatExprs("tcp", Backend{IP: b.IP.To4(), Port: b.Port})).dnat()
		if !ok || got.String() != b.String() {
			t.Errorf("dnat %s: decoded %s %v", b, got, ok)
		}
	}
	br, addr, ok := decode(snatExprs("swbr4096", ip("10.0.0.250"))).snat()
	if !ok || br != "swbr4096" || !addr.Equal(ip("10.0.0.250")) {
		t.Errorf("snat: decoded %q %v %v", br, addr, ok)
	}
	// Without the mark match, it is not ours.
	es := snatExprs("swbr4096", ip("10.0.0.250"))
	if _, _, ok := decode(append(es[:2:2], es[5:]...)).snat(); ok {
		t.Error("snat without the mark match decoded")
	}
	if _, _, ok := decode(spreadExprs(2, &nftables.Set{Name: "__map0"})).dispatch(); ok {
		t.Error("a spread rule decoded as a dispatch rule")
	}
	if l := decode(spreadExprs(2, &nftables.Set{Name: "__map0"})).lookup; l == nil || l.SetName != "__map0" {
		t.Errorf("spread lookup %+v", l)
	}
}

func TestCommentRoundTrip(t *testing.T) {
	fe := web()
	if s, br := parseComment(comment(fe)); s != "web" || br != "swbr4096" {
		t.Errorf("comment: %q %q", s, br)
	}
	fe.Service = ""
	if s, br := parseComment(comment(fe)); s != "" || br != "swbr4096" {
		t.Errorf("comment without service: %q %q", s, br)
	}
}

func TestDescribeLine(t *testing.T) {
	n, err := normalize([]Frontend{web(), db()})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"db all 10.0.0.100:* -> 10.0.0.3 10.0.0.4 (snat 10.0.0.250 via swbr4096)",
		"web tcp *:81 -> 10.0.0.3:80 10.0.0.4:80 (snat 10.0.0.250 via swbr4096)",
	}
	for i, fe := range n {
		if got := describe(fe); got != want[i] {
			t.Errorf("got %q, want %q", got, want[i])
		}
	}
	n[0].SNAT = nil
	if got := describe(n[0]); !strings.HasSuffix(got, "(no snat via swbr4096)") {
		t.Errorf("without snat: %q", got)
	}
}

func TestParseVerdict(t *testing.T) {
	b, err := netlink.MarshalAttributes([]netlink.Attribute{
		{Type: unix.NFTA_VERDICT_CODE, Data: []byte{0xff, 0xff, 0xff, 0xfc}}, // NFT_GOTO: -4
		{Type: unix.NFTA_VERDICT_CHAIN, Data: []byte("be-0-1\x00")},
	})
	if err != nil {
		t.Fatal(err)
	}
	kind, chain, err := parseVerdict(b)
	if err != nil || kind != expr.VerdictGoto || chain != "be-0-1" {
		t.Fatalf("%v %q %v", kind, chain, err)
	}
}

func TestStaleFlows(t *testing.T) {
	flow := func(dst, replySrc string) *vnl.ConntrackFlow {
		f := &vnl.ConntrackFlow{FamilyType: unix.AF_INET}
		f.Forward.DstIP, f.Reverse.SrcIP = ip(dst), ip(replySrc)
		return f
	}
	s := gone(map[string]bool{"10.0.0.2": true, "10.0.0.3": true}, map[string]bool{"10.0.0.3": true, "10.0.0.4": true})
	if len(s) != 1 || !s["10.0.0.2"] {
		t.Fatalf("gone: %v", s)
	}
	for _, c := range []struct {
		f    *vnl.ConntrackFlow
		want bool
	}{
		{flow("10.0.0.100", "10.0.0.2"), true},  // translated to a removed backend
		{flow("10.0.0.2", "10.0.0.2"), false},   // straight to the task: not the mesh's
		{flow("10.0.0.100", "10.0.0.3"), false}, // a backend still there
	} {
		if got := s.MatchConntrackFlow(c.f); got != c.want {
			t.Errorf("%v -> %v: %v", c.f.Forward.DstIP, c.f.Reverse.SrcIP, got)
		}
	}
}

// TestProgramOneBatch checks that Apply's messages go in one batch that starts by re-creating the table.
func TestProgramOneBatch(t *testing.T) {
	n, err := normalize([]Frontend{web(), db()})
	if err != nil {
		t.Fatal(err)
	}
	var sends [][]netlink.HeaderType
	c, err := nftables.New(nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
		if len(req) == 0 { // Receive asking for more: the acks
			return nil, nil
		}
		var types []netlink.HeaderType
		for _, m := range req {
			types = append(types, m.Header.Type&0xff)
		}
		sends = append(sends, types)
		return req, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := program(c, "swarm_mesh", n); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(sends) != 1 {
		t.Fatalf("%d sends, want one batch", len(sends))
	}
	got := sends[0]
	batch := netlink.HeaderType(unix.NFNL_MSG_BATCH_BEGIN & 0xff)
	want := []netlink.HeaderType{batch, unix.NFT_MSG_NEWTABLE, unix.NFT_MSG_DELTABLE, unix.NFT_MSG_NEWTABLE}
	if len(got) < 5 || !reflect.DeepEqual(got[:4], want) {
		t.Fatalf("batch starts %v, want %v", got, want)
	}
	counts := map[netlink.HeaderType]int{}
	for _, ty := range got {
		counts[ty]++
	}
	// services, 2 fe, 4 be, prerouting, output, postrouting; 2 sets.
	if counts[unix.NFT_MSG_NEWCHAIN] != 10 || counts[unix.NFT_MSG_NEWSET] != 2 || counts[unix.NFT_MSG_NEWRULE] != 11 {
		t.Fatalf("counts %v", counts)
	}
}
