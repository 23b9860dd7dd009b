package resolver

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fakeBook knows the names of one network.
type fakeBook struct {
	network string
	names   map[string][]net.IP
}

func (b fakeBook) Lookup(network string, from net.IP, name string) []net.IP {
	if network != b.network {
		return nil
	}
	return b.names[name]
}

func freePort(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	_, port, _ := net.SplitHostPort(pc.LocalAddr().String())
	return port
}

// upstream is a resolver that answers every A question with 192.0.2.1.
func upstream(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		r := new(dns.Msg)
		r.SetReply(q)
		r.Answer = append(r.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP("192.0.2.1")})
		w.WriteMsg(r)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

func ask(t *testing.T, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Timeout: 2 * time.Second}
	var r *dns.Msg
	var err error
	for range 20 { // the server may still be starting
		if r, _, err = c.Exchange(q, addr); err == nil {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("asking %s for %s: %v", addr, name, err)
	return nil
}

func TestClusterNamesAreAnsweredAndOthersForwarded(t *testing.T) {
	port := freePort(t)
	s := New(Config{Book: fakeBook{network: "n1", names: map[string][]net.IP{"http": {net.ParseIP("10.0.0.2"), net.ParseIP("10.0.0.3")}}},
		Upstream: []string{upstream(t)}, Port: port})
	defer s.Close()
	if err := s.Listen("n1", net.ParseIP("127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Listen("n1", net.ParseIP("127.0.0.1")); err != nil {
		t.Fatalf("listening again: %v", err)
	}
	addr := net.JoinHostPort("127.0.0.1", port)
	firsts := map[string]int{}
	for range 40 { // both addresses every time, in turn first: clients take the first
		r := ask(t, addr, "HTTP", dns.TypeA)
		if len(r.Answer) != 2 || r.Answer[0].Header().Ttl != TTL || !r.Authoritative ||
			r.Answer[0].(*dns.A).A.Equal(r.Answer[1].(*dns.A).A) {
			t.Fatalf("answer for http: %v", r)
		}
		firsts[r.Answer[0].(*dns.A).A.String()]++
	}
	if firsts["10.0.0.2"] == 0 || firsts["10.0.0.3"] == 0 {
		t.Fatalf("first answers over 40 questions: %v, want each address first sometimes", firsts)
	}
	if r := ask(t, addr, "http", dns.TypeAAAA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Fatalf("AAAA for http: %v, want no error and no address", r)
	}
	if r := ask(t, addr, "example.org", dns.TypeA); len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
		t.Fatalf("a name the cluster does not know was not forwarded: %v", r)
	}
	if r := ask(t, addr, "nosuchcontainer", dns.TypeA); r.Rcode != dns.RcodeNameError || len(r.Answer) != 0 {
		t.Fatalf("a single label no container holds: %v, want NXDOMAIN at once", r)
	}
	s.Stop(net.ParseIP("127.0.0.1"))
	c := &dns.Client{Timeout: 300 * time.Millisecond}
	q := new(dns.Msg)
	q.SetQuestion("http.", dns.TypeA)
	if _, _, err := c.Exchange(q, addr); err == nil {
		t.Fatal("still answering after Stop")
	}
}

func TestWithoutUpstreamAnUnknownNameIsAServerFailure(t *testing.T) {
	port := freePort(t)
	s := New(Config{Book: fakeBook{network: "n1"}, Port: port})
	defer s.Close()
	if err := s.Listen("n1", net.ParseIP("127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if r := ask(t, net.JoinHostPort("127.0.0.1", port), "nope.example.org", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Fatalf("rcode %d, want SERVFAIL", r.Rcode)
	}
}

func TestUpstreamIsReadFromResolvConf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(path, []byte("search example.org\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n"), 0o644)
	got, err := Upstream(path)
	if err != nil || len(got) != 2 || got[0] != "192.0.2.53:53" {
		t.Fatalf("Upstream: %v, %v", got, err)
	}
	if _, err := Upstream(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Fatal("a missing resolv.conf was taken")
	}
}
