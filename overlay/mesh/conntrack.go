package mesh

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// staleFlows matches the IPv4 conntrack entries whose destination was translated to one of its addresses: the
// reply comes from the address, and the original destination is another one.
type staleFlows map[string]bool

// MatchConntrackFlow implements netlink.CustomConntrackFilter.
func (s staleFlows) MatchConntrackFlow(f *netlink.ConntrackFlow) bool {
	return f.FamilyType == unix.AF_INET && s[f.Reverse.SrcIP.String()] && !f.Forward.DstIP.Equal(f.Reverse.SrcIP)
}

// gone is the addresses of prev that are not in now.
func gone(prev, now map[string]bool) staleFlows {
	out := staleFlows{}
	for ip := range prev {
		if !now[ip] {
			out[ip] = true
		}
	}
	return out
}

// dropStale deletes the conntrack entries translated to a backend of prev that is not in now.
func (m *Mesh) dropStale(prev, now map[string]bool) error {
	stale := gone(prev, now)
	if len(stale) == 0 {
		return nil
	}
	h, err := m.netlinkHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	if _, err := h.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, stale); err != nil {
		return fmt.Errorf("mesh: delete conntrack entries of removed backends: %w", err)
	}
	return nil
}

// netlinkHandle is a netfilter netlink handle in the mesh's namespace.
func (m *Mesh) netlinkHandle() (*netlink.Handle, error) {
	var h *netlink.Handle
	var err error
	if m.ns < 0 {
		h, err = netlink.NewHandle(unix.NETLINK_NETFILTER)
	} else {
		h, err = netlink.NewHandleAt(m.ns, unix.NETLINK_NETFILTER)
	}
	if err != nil {
		return nil, fmt.Errorf("mesh: netlink handle: %w", err)
	}
	return h, nil
}
