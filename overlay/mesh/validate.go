package mesh

import (
	"bytes"
	"fmt"
	"net"
	"sort"
	"unicode"
)

// normalize validates fes and returns copies of the frontends that have backends, in the canonical order
// (virtual IPs first, the more specific first on one address, then ingress ports), with IPv4 addresses in
// their 4-byte form and backends sorted.
func normalize(fes []Frontend) ([]Frontend, error) {
	var out []Frontend
	for i, fe := range fes {
		n, err := checkFrontend(fe)
		if err != nil {
			return nil, fmt.Errorf("mesh: frontend %d (%s): %w", i, name(fe), err)
		}
		if len(n.Backends) > 0 {
			out = append(out, n)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return less(out[i], out[j]) })
	if err := checkConflicts(out); err != nil {
		return nil, err
	}
	return out, nil
}

func name(fe Frontend) string {
	if fe.Service == "" {
		return "-"
	}
	return fe.Service
}

// checkFrontend validates one frontend and returns its normalized copy.
func checkFrontend(fe Frontend) (Frontend, error) {
	if len(fe.Service) > 100 || !printable(fe.Service) {
		return fe, fmt.Errorf("bad service name %q: at most 100 printable characters, no spaces", fe.Service)
	}
	if err := checkFront(fe); err != nil {
		return fe, err
	}
	n := fe
	n.Addr = fe.Addr.To4()
	n.Backends = nil
	if len(fe.Backends) == 0 {
		return n, nil
	}
	if err := checkBridge(fe.Bridge); err != nil {
		return fe, err
	}
	if n.SNAT = fe.SNAT.To4(); n.SNAT == nil || n.SNAT.IsUnspecified() {
		return fe, fmt.Errorf("SNAT %v: an IPv4 address is needed with backends", fe.SNAT)
	}
	bes, err := checkBackends(fe)
	n.Backends = bes
	return n, err
}

// checkFront validates the protocol, address and port.
func checkFront(fe Frontend) error {
	switch {
	case fe.Proto != "tcp" && fe.Proto != "udp" && fe.Proto != "":
		return fmt.Errorf("bad protocol %q: tcp, udp, or \"\" (every protocol of a virtual IP)", fe.Proto)
	case fe.Addr != nil && (fe.Addr.To4() == nil || fe.Addr.To4().IsUnspecified()):
		return fmt.Errorf("address %v: only IPv4 virtual IPs are supported", fe.Addr)
	case fe.Addr == nil && (fe.Proto == "" || fe.Port == 0):
		return fmt.Errorf("an ingress frontend (no address) needs a protocol and a port")
	case fe.Proto == "" && fe.Port != 0:
		return fmt.Errorf("port %d without a protocol", fe.Port)
	}
	return nil
}

// checkBridge accepts what Linux accepts as an interface name.
func checkBridge(br string) error {
	if br == "" || len(br) > 15 || br == "." || br == ".." || !printable(br) || bytes.ContainsAny([]byte(br), "/:") {
		return fmt.Errorf("bad bridge %q: an interface name is needed with backends", br)
	}
	return nil
}

// checkBackends validates and sorts the backends.
func checkBackends(fe Frontend) ([]Backend, error) {
	bes := make([]Backend, 0, len(fe.Backends))
	seen := map[string]bool{}
	for _, b := range fe.Backends {
		ip := b.IP.To4()
		switch {
		case ip == nil || ip.IsUnspecified():
			return nil, fmt.Errorf("backend %v: not an IPv4 address", b.IP)
		case b.Port != 0 && fe.Proto == "":
			return nil, fmt.Errorf("backend %s: a port needs the frontend's protocol", b)
		case seen[Backend{ip, b.Port}.String()]:
			return nil, fmt.Errorf("backend %s twice", b)
		}
		seen[Backend{ip, b.Port}.String()] = true
		bes = append(bes, Backend{IP: ip, Port: b.Port})
	}
	sort.Slice(bes, func(i, j int) bool {
		if c := bytes.Compare(bes[i].IP, bes[j].IP); c != 0 {
			return c < 0
		}
		return bes[i].Port < bes[j].Port
	})
	return bes, nil
}

// checkConflicts refuses two frontends on the same address, protocol and port, and a bridge with two source
// addresses (the source NAT rule is per bridge).
func checkConflicts(fes []Frontend) error {
	fronts, snat := map[string]string{}, map[string]net.IP{}
	for _, fe := range fes {
		key := front(fe)
		if other, ok := fronts[key]; ok {
			return fmt.Errorf("mesh: frontends %s and %s both claim %s", other, name(fe), key)
		}
		fronts[key] = name(fe)
		if ip, ok := snat[fe.Bridge]; ok && !ip.Equal(fe.SNAT) {
			return fmt.Errorf("mesh: bridge %s with two SNAT addresses %v and %v (%s)", fe.Bridge, ip, fe.SNAT, name(fe))
		}
		snat[fe.Bridge] = fe.SNAT
	}
	return nil
}

// front is "PROTO ADDR:PORT" with "all" for every protocol and "*" for any address or port.
func front(fe Frontend) string {
	proto, addr, port := fe.Proto, "*", "*"
	if proto == "" {
		proto = "all"
	}
	if fe.Addr != nil {
		addr = fe.Addr.String()
	}
	if fe.Port != 0 {
		port = fmt.Sprint(fe.Port)
	}
	return proto + " " + addr + ":" + port
}

// less is the canonical order of normalized frontends.
func less(a, b Frontend) bool {
	if (a.Addr == nil) != (b.Addr == nil) {
		return a.Addr != nil
	}
	if c := bytes.Compare(a.Addr, b.Addr); c != 0 {
		return c < 0
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra < rb
	}
	if a.Proto != b.Proto {
		return a.Proto < b.Proto
	}
	return a.Port < b.Port
}

// rank: a port, then a protocol, then every protocol.
func rank(fe Frontend) int {
	switch {
	case fe.Port != 0:
		return 0
	case fe.Proto != "":
		return 1
	}
	return 2
}

// printable: no spaces, no control characters.
func printable(s string) bool {
	for _, r := range s {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// backendSet is the backend addresses of fes.
func backendSet(fes []Frontend) map[string]bool {
	set := map[string]bool{}
	for _, fe := range fes {
		for _, b := range fe.Backends {
			set[b.IP.String()] = true
		}
	}
	return set
}
