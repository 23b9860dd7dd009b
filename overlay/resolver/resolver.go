// Package resolver answers DNS for containers on cluster networks (docs/networks.md): the names and aliases of
// the containers on the asking container's cluster networks, on every host, and everything else by asking the
// host's own resolvers. A Server listens on each cluster network's gateway address on this host's bridge (the
// manager gives the network's containers that address as their DNS server, behind the engine's embedded DNS,
// which answers the names of its own host first).
package resolver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Book is what the Server answers from.
type Book interface {
	// Lookup returns the addresses of name on the cluster networks of the container that has address from on
	// network (nil: not a name there).
	Lookup(network string, from net.IP, name string) []net.IP
}

// Config is what a Server needs.
type Config struct {
	Book     Book
	Upstream []string // "ip:port" of the resolvers other names go to; empty: answered SERVFAIL
	Port     string   // "" = 53
	Logger   *slog.Logger
}

// TTL of the answers: none, so that a container that leaves is forgotten at once.
const TTL = 0

// forwardTimeout bounds a question forwarded upstream.
const forwardTimeout = 3 * time.Second

// Server serves DNS on the addresses Listen gives it, each standing for one cluster network.
type Server struct {
	cfg    Config
	client *dns.Client
	mu     sync.Mutex
	nets   map[string]string         // listening IP -> cluster network
	srv    map[string][2]*dns.Server // listening IP -> its UDP and TCP servers
}

// New returns a Server listening nowhere yet.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Port == "" {
		cfg.Port = "53"
	}
	return &Server{cfg: cfg, client: &dns.Client{Timeout: forwardTimeout}, nets: map[string]string{}, srv: map[string][2]*dns.Server{}}
}

// Listen serves network's questions on ip (UDP and TCP); listening again on ip changes nothing.
func (s *Server) Listen(network string, ip net.IP) error {
	key := ip.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.srv[key]; ok {
		s.nets[key] = network
		return nil
	}
	addr := net.JoinHostPort(key, s.cfg.Port)
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("DNS for network %s on %s: %w", network, addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		pc.Close()
		return fmt.Errorf("DNS for network %s on %s: %w", network, addr, err)
	}
	udp, tcp := &dns.Server{PacketConn: pc, Handler: s}, &dns.Server{Listener: ln, Handler: s}
	s.nets[key], s.srv[key] = network, [2]*dns.Server{udp, tcp}
	for _, srv := range []*dns.Server{udp, tcp} {
		go func() {
			if err := srv.ActivateAndServe(); err != nil && !errors.Is(err, net.ErrClosed) {
				s.cfg.Logger.Warn("cluster networks: DNS server stopped", "addr", addr, "err", err)
			}
		}()
	}
	return nil
}

// Stop stops serving on ip.
func (s *Server) Stop(ip net.IP) {
	key := ip.String()
	s.mu.Lock()
	srv, ok := s.srv[key]
	delete(s.srv, key)
	delete(s.nets, key)
	s.mu.Unlock()
	if ok {
		for _, x := range srv {
			x.Shutdown()
		}
	}
}

// Close stops serving everywhere.
func (s *Server) Close() {
	s.mu.Lock()
	var ips []string
	for ip := range s.srv {
		ips = append(ips, ip)
	}
	s.mu.Unlock()
	for _, ip := range ips {
		s.Stop(net.ParseIP(ip))
	}
}

// ServeDNS answers A questions for names the Book knows, and says a single-label name it does not know does not
// exist; every other question goes upstream.
func (s *Server) ServeDNS(w dns.ResponseWriter, q *dns.Msg) {
	if reply := s.answer(w, q); reply != nil {
		w.WriteMsg(reply)
		return
	}
	w.WriteMsg(s.forward(q, w.RemoteAddr().Network()))
}

// answer is the reply from the Book, nil when the question is not for it.
func (s *Server) answer(w dns.ResponseWriter, q *dns.Msg) *dns.Msg {
	if len(q.Question) != 1 || q.Question[0].Qclass != dns.ClassINET {
		return nil
	}
	question := q.Question[0]
	if question.Qtype != dns.TypeA && question.Qtype != dns.TypeAAAA {
		return nil
	}
	local, from := hostOf(w.LocalAddr()), hostOf(w.RemoteAddr())
	s.mu.Lock()
	network := s.nets[local.String()]
	s.mu.Unlock()
	name := strings.ToLower(strings.TrimSuffix(question.Name, "."))
	ips := s.cfg.Book.Lookup(network, from, name)
	if ips == nil && strings.Contains(name, ".") {
		return nil
	}
	reply := new(dns.Msg)
	reply.SetReply(q)
	reply.Authoritative, reply.RecursionAvailable = true, true
	if ips == nil {
		// A single label no container holds (yet): no resolver beyond knows it either, so say so at once
		// rather than make the client wait on them (it asks again, and gets it once the container is there).
		reply.Rcode = dns.RcodeNameError
		return reply
	}
	if question.Qtype == dns.TypeAAAA {
		return reply // known, IPv4 only: no error, no address
	}
	// Rotated at random: a client takes the first, so a name many hold (a service's tasks) spreads the load.
	k := rand.IntN(len(ips))
	for _, ip := range append(ips[k:len(ips):len(ips)], ips[:k]...) {
		reply.Answer = append(reply.Answer, &dns.A{Hdr: dns.RR_Header{Name: question.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: TTL}, A: ip.To4()})
	}
	return reply
}

// forward asks the upstream resolvers in turn; SERVFAIL when none answers.
func (s *Server) forward(q *dns.Msg, proto string) *dns.Msg {
	ctx, cancel := context.WithTimeout(context.Background(), forwardTimeout)
	defer cancel()
	client := *s.client
	client.Net = "udp"
	if proto == "tcp" {
		client.Net = "tcp"
	}
	for _, up := range s.cfg.Upstream {
		if reply, _, err := client.ExchangeContext(ctx, q, up); err == nil && reply != nil {
			return reply
		}
	}
	fail := new(dns.Msg)
	fail.SetRcode(q, dns.RcodeServerFailure)
	return fail
}

func hostOf(a net.Addr) net.IP {
	switch v := a.(type) {
	case *net.UDPAddr:
		return v.IP
	case *net.TCPAddr:
		return v.IP
	}
	return nil
}

// Upstream reads the nameservers of a resolv.conf (e.g. /etc/resolv.conf) as ip:53.
func Upstream(path string) ([]string, error) {
	cfg, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the resolvers of %s: %w", path, err)
	}
	out := make([]string, 0, len(cfg.Servers))
	for _, s := range cfg.Servers {
		out = append(out, net.JoinHostPort(s, cfg.Port))
	}
	return out, nil
}
