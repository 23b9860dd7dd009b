package mesh

import (
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
)

// Describe reads the table back from the kernel: one line per frontend, in the table's order (see the package
// comment), each ending in a newline. It is "" with a nil error when the table is absent or empty.
func (m *Mesh) Describe() (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fes, odd, err := m.read()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, fe := range fes {
		b.WriteString(describe(fe) + "\n")
	}
	for _, o := range odd {
		b.WriteString("? " + o + "\n")
	}
	return b.String(), nil
}

// describe is one frontend's line: "SERVICE PROTO ADDR:PORT -> BACKEND... (snat SNAT via BRIDGE)".
func describe(fe Frontend) string {
	bes := make([]string, len(fe.Backends))
	for i, b := range fe.Backends {
		bes[i] = b.String()
	}
	line := name(fe) + " " + front(fe) + " -> " + strings.Join(bes, " ")
	if fe.SNAT == nil {
		return line + " (no snat via " + fe.Bridge + ")"
	}
	return line + " (snat " + fe.SNAT.String() + " via " + fe.Bridge + ")"
}

// reader reads the mesh's table through one connection.
type reader struct {
	c   *nftables.Conn
	t   *nftables.Table
	odd []string // what could not be decoded
}

// read decodes the table in the kernel: its frontends in the table's order, and the rules it could not decode.
// An absent table reads as nothing.
func (m *Mesh) read() ([]Frontend, []string, error) {
	c, err := m.conn()
	if err != nil {
		return nil, nil, err
	}
	chains, found, err := listChains(c, m.table)
	if err != nil || !found || !chains[chainServices] {
		return nil, nil, err
	}
	r := &reader{c: c, t: &nftables.Table{Name: m.table, Family: nftables.TableFamilyIPv4}}
	snat := map[string]net.IP{}
	if chains[chainPostrouting] {
		if snat, err = r.snats(); err != nil {
			return nil, nil, err
		}
	}
	fes, err := r.frontends(snat)
	return fes, r.odd, err
}

// listChains is the names of the table's chains, and whether the table exists.
func listChains(c *nftables.Conn, table string) (map[string]bool, bool, error) {
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return nil, false, fmt.Errorf("mesh: list tables: %w", err)
	}
	found := false
	for _, t := range tables {
		found = found || t.Name == table
	}
	if !found {
		return nil, false, nil
	}
	all, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return nil, false, fmt.Errorf("mesh: list chains: %w", err)
	}
	chains := map[string]bool{}
	for _, ch := range all {
		if ch.Table.Name == table {
			chains[ch.Name] = true
		}
	}
	return chains, true, nil
}

func (r *reader) rules(chain string) ([]*nftables.Rule, error) {
	rules, err := r.c.GetRules(r.t, &nftables.Chain{Name: chain, Table: r.t})
	if err != nil {
		return nil, fmt.Errorf("mesh: list rules of %s %s: %w", r.t.Name, chain, err)
	}
	return rules, nil
}

// snats is the source address of each bridge, from the postrouting chain.
func (r *reader) snats() (map[string]net.IP, error) {
	rules, err := r.rules(chainPostrouting)
	if err != nil {
		return nil, err
	}
	snat := map[string]net.IP{}
	for _, rule := range rules {
		if br, ip, ok := decode(rule.Exprs).snat(); ok {
			snat[br] = ip
		} else {
			r.odd = append(r.odd, fmt.Sprintf("%s: rule %d", chainPostrouting, rule.Handle))
		}
	}
	return snat, nil
}

// frontends decodes the services chain and follows each rule to its backends.
func (r *reader) frontends(snat map[string]net.IP) ([]Frontend, error) {
	rules, err := r.rules(chainServices)
	if err != nil {
		return nil, err
	}
	var fes []Frontend
	for _, rule := range rules {
		fe, target, ok := decode(rule.Exprs).dispatch()
		if !ok {
			r.odd = append(r.odd, fmt.Sprintf("%s: rule %d", chainServices, rule.Handle))
			continue
		}
		fe.Service, fe.Bridge = parseComment(rule.UserData)
		fe.SNAT = snat[fe.Bridge]
		if fe.Backends, err = r.backends(target); err != nil {
			return nil, err
		}
		fes = append(fes, fe)
	}
	return fes, nil
}

// backends follows chain fe-N's verdict map to the be-N-i chains, in the map's key order.
func (r *reader) backends(chain string) ([]Backend, error) {
	targets, err := r.spread(chain)
	if err != nil || targets == nil {
		return nil, err
	}
	var bes []Backend
	for _, target := range targets {
		rules, err := r.rules(target)
		if err != nil {
			return nil, err
		}
		for _, rule := range rules {
			if b, ok := decode(rule.Exprs).dnat(); ok {
				bes = append(bes, b)
			} else {
				r.odd = append(r.odd, fmt.Sprintf("%s: rule %d", target, rule.Handle))
			}
		}
	}
	return bes, nil
}

// spread is the chains that chain's verdict map goes to, in key order.
func (r *reader) spread(chain string) ([]string, error) {
	rules, err := r.rules(chain)
	if err != nil {
		return nil, err
	}
	if len(rules) != 1 || decode(rules[0].Exprs).lookup == nil {
		r.odd = append(r.odd, fmt.Sprintf("%s: %d rules, not one verdict map", chain, len(rules)))
		return nil, nil
	}
	name := decode(rules[0].Exprs).lookup.SetName
	elems, err := r.c.GetSetElements(&nftables.Set{Table: r.t, Name: name})
	if err != nil {
		return nil, fmt.Errorf("mesh: elements of %s (%s): %w", name, chain, err)
	}
	return r.targets(chain, elems)
}

// targets is the goto chains of a verdict map's elements, sorted by key.
func (r *reader) targets(chain string, elems []nftables.SetElement) ([]string, error) {
	sort.Slice(elems, func(i, j int) bool { return key(elems[i]) < key(elems[j]) })
	var out []string
	for _, e := range elems {
		kind, target, err := parseVerdict(e.Val)
		if err != nil {
			return nil, fmt.Errorf("mesh: verdict map of %s: %w", chain, err)
		}
		if kind != expr.VerdictGoto || target == "" {
			r.odd = append(r.odd, fmt.Sprintf("%s: element %d is not a goto", chain, key(e)))
			continue
		}
		out = append(out, target)
	}
	return out, nil
}

func key(e nftables.SetElement) uint32 {
	if len(e.Key) != 4 {
		return ^uint32(0)
	}
	return binaryutil.NativeEndian.Uint32(e.Key)
}
