package dataplane

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"syscall"
)

// SetPeers reconciles network vni's VXLAN device to exactly peers: a permanent FDB entry (MAC → VTEP) and a
// permanent neighbour entry (IP → MAC) for each, those of this host's VTEP skipped. Other permanent entries of
// the device are deleted; the bridge's entries and non-permanent ones are never touched.
func (p *Plane) SetPeers(vni uint32, peers []Peer) error {
	if err := checkVNI(vni); err != nil {
		return fmt.Errorf("dataplane: %w", err)
	}
	fdb, neigh, err := wanted(peers, p.vtep)
	if err != nil {
		return fmt.Errorf("dataplane: network %d: %w", vni, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.setPeers(vni, fdb, neigh); err != nil {
		return fmt.Errorf("dataplane: network %d: %w", vni, err)
	}
	return nil
}

func (p *Plane) setPeers(vni uint32, fdb, neigh map[string]string) error {
	vx, err := p.link(VXLANName(vni), "vxlan")
	if err != nil {
		return err
	}
	if vx == nil {
		return fmt.Errorf("VXLAN device %s is missing: the network is not set up on this host", VXLANName(vni))
	}
	idx := vx.Attrs().Index
	haveFDB, err := p.fdbEntries(idx)
	if err != nil {
		return err
	}
	haveNeigh, err := p.neighEntries(idx)
	if err != nil {
		return err
	}
	setFDB, delFDB := plan(fdb, haveFDB)
	setNeigh, delNeigh := plan(neigh, haveNeigh)
	// Neighbours are deleted before the FDB entries they point at and added after them.
	var errs []error
	errs = append(errs, p.apply(delNeigh, func(e pair) error { return p.h.NeighDel(neighEntry(idx, e)) })...)
	errs = append(errs, p.apply(delFDB, func(e pair) error { return p.h.NeighDel(fdbEntry(idx, e)) })...)
	errs = append(errs, p.apply(setFDB, func(e pair) error { return p.h.NeighSet(fdbEntry(idx, e)) })...)
	errs = append(errs, p.apply(setNeigh, func(e pair) error { return p.h.NeighSet(neighEntry(idx, e)) })...)
	return errors.Join(errs...)
}

func (p *Plane) apply(entries []pair, f func(pair) error) []error {
	var errs []error
	for _, e := range entries {
		if err := f(e); err != nil {
			errs = append(errs, fmt.Errorf("entry %s → %s: %w", e.key, e.val, err))
		}
	}
	return errs
}

// fdbEntry is the VXLAN device's own (NTF_SELF) permanent entry MAC e.key → VTEP e.val.
func fdbEntry(idx int, e pair) *netlink.Neigh {
	mac, _ := net.ParseMAC(e.key)
	return &netlink.Neigh{LinkIndex: idx, Family: syscall.AF_BRIDGE, Flags: netlink.NTF_SELF,
		State: netlink.NUD_PERMANENT, HardwareAddr: mac, IP: net.ParseIP(e.val)}
}

// neighEntry is the permanent neighbour entry IP e.key → MAC e.val.
func neighEntry(idx int, e pair) *netlink.Neigh {
	mac, _ := net.ParseMAC(e.val)
	ip := net.ParseIP(e.key)
	return &netlink.Neigh{LinkIndex: idx, Family: family(ip), State: netlink.NUD_PERMANENT, IP: ip, HardwareAddr: mac}
}

func family(ip net.IP) int {
	if ip.To4() != nil {
		return syscall.AF_INET
	}
	return syscall.AF_INET6
}

// fdbEntries is the VXLAN device's own permanent FDB entries, MAC → remote VTEPs.
func (p *Plane) fdbEntries(idx int) (map[string][]string, error) {
	list, err := p.h.NeighList(idx, syscall.AF_BRIDGE)
	if err != nil {
		return nil, fmt.Errorf("listing FDB entries: %w", err)
	}
	have := map[string][]string{}
	for _, n := range list {
		if n.LinkIndex != idx || !isOwnFDB(n) {
			continue
		}
		have[n.HardwareAddr.String()] = append(have[n.HardwareAddr.String()], n.IP.String())
	}
	return have, nil
}

// isOwnFDB tells a permanent VXLAN entry to a unicast MAC from the bridge's entries for its port (which the kernel
// reports with NDA_MASTER, no NTF_SELF) and from a default (all-zero MAC) one.
func isOwnFDB(n netlink.Neigh) bool {
	return n.Flags&netlink.NTF_SELF != 0 && n.MasterIndex == 0 && n.State&netlink.NUD_PERMANENT != 0 &&
		len(n.HardwareAddr) == 6 && !isZero(n.HardwareAddr) && n.IP != nil
}

// neighEntries is the device's permanent neighbour entries, IP → MAC.
func (p *Plane) neighEntries(idx int) (map[string][]string, error) {
	have := map[string][]string{}
	for _, fam := range []int{syscall.AF_INET, syscall.AF_INET6} {
		list, err := p.h.NeighList(idx, fam)
		if err != nil {
			return nil, fmt.Errorf("listing neighbour entries: %w", err)
		}
		for _, n := range list {
			if n.LinkIndex == idx && n.Family == fam && n.State&netlink.NUD_PERMANENT != 0 && n.HardwareAddr != nil {
				have[n.IP.String()] = append(have[n.IP.String()], n.HardwareAddr.String())
			}
		}
	}
	return have, nil
}
