package scheduler

import (
	"fmt"
	"net/netip"
)

// constraintFilter matches the node itself. Swarm mode's keys: node.id, node.hostname, node.ip (an address, or
// a CIDR block such as 10.0.0.0/8 that holds it), node.role, node.platform.os, node.platform.arch,
// node.labels.K (the labels set on the node) and engine.labels.K (the engine's). The original's: node against
// the ID and the name, any other key against the engine label of that name (built-ins storagedriver,
// kernelversion, operatingsystem, ostype included). A missing value reads as "".
type constraintFilter struct{}

func (constraintFilter) applies(r *request) bool { return len(r.ex.constraints) > 0 }

func (constraintFilter) check(r *request, n *nodeView) string {
	for _, e := range r.ex.constraints {
		if e.soft && !r.soft {
			continue
		}
		if !constraintMet(e, n.Node) {
			return e.reason("constraint %q not met on %%s")
		}
	}
	return ""
}

func constraintMet(e *expr, n *Node) bool {
	switch {
	case e.attr.kind == attrNode:
		return e.match(n.ID, n.Name)
	case e.cidr.IsValid():
		ip, err := netip.ParseAddr(n.IP)
		return (err == nil && e.cidr.Contains(ip.Unmap())) != e.neg
	}
	return e.match(e.attr.value(n))
}

// parseConstraint parses a constraint expression and resolves its key (see parseAttr); a node.ip value that is
// a CIDR block matches the addresses it holds.
func parseConstraint(text string) (*expr, error) {
	e, err := parseExpr("constraint", text)
	if err != nil {
		return nil, err
	}
	if e.attr, err = parseAttr(e.key, true); err != nil {
		return nil, &ExprError{Kind: "constraint", Expr: text, Msg: fmt.Sprintf("invalid constraint expression %q: %v", text, err)}
	}
	if p, err := netip.ParsePrefix(e.value); err == nil && e.attr.kind == attrIP {
		e.cidr = p.Masked()
	}
	return e, nil
}
