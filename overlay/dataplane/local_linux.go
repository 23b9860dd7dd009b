package dataplane

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
)

// BridgeMAC is the hardware address of network vni's bridge (the host's own addresses on the network answer
// with it).
func (p *Plane) BridgeMAC(vni uint32) (net.HardwareAddr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	br, err := p.bridge(vni)
	if err != nil {
		return nil, err
	}
	return br.Attrs().HardwareAddr, nil
}

// SetLocalAddresses makes ips, as /32s, exactly the addresses network vni's bridge holds besides its gateway:
// the host's own address on the network and the services' virtual IPs, which the host answers for.
func (p *Plane) SetLocalAddresses(vni uint32, ips []net.IP) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	br, err := p.bridge(vni)
	if err != nil {
		return err
	}
	have, err := p.h.AddrList(br, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("dataplane: addresses of %s: %w", br.Attrs().Name, err)
	}
	want := map[string]bool{}
	for _, ip := range ips {
		want[ip.To4().String()] = true
	}
	for _, a := range have {
		if ones, bits := a.Mask.Size(); ones != bits {
			continue // the gateway's
		}
		if want[a.IP.String()] {
			delete(want, a.IP.String())
			continue
		}
		if err := p.h.AddrDel(br, &a); err != nil {
			return fmt.Errorf("dataplane: removing %s from %s: %w", a.IPNet, br.Attrs().Name, err)
		}
	}
	for ip := range want {
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP(ip).To4(), Mask: net.CIDRMask(32, 32)}}
		if err := p.h.AddrReplace(br, addr); err != nil {
			return fmt.Errorf("dataplane: %s on %s: %w", ip, br.Attrs().Name, err)
		}
	}
	return nil
}

// bridge is network vni's bridge; a network not set up here is an error.
func (p *Plane) bridge(vni uint32) (netlink.Link, error) {
	br, err := p.link(BridgeName(vni), "bridge")
	if err == nil && br == nil {
		err = fmt.Errorf("network %d is not set up on this host", vni)
	}
	if err != nil {
		return nil, fmt.Errorf("dataplane: %w", err)
	}
	return br, nil
}
