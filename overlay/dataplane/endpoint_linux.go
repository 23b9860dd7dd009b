package dataplane

import (
	"bytes"
	"fmt"

	"github.com/vishvananda/netlink"
)

// AddEndpoint makes endpoint ep's veth pair on network vni's bridge and returns the container end's name: the
// host end swh<ID> a port of the bridge and up, the container end swc<ID> with ep's MAC and MTU, left down here
// for the engine to move into the container. For a pair that exists already, it only checks and fixes it.
func (p *Plane) AddEndpoint(vni uint32, ep Endpoint) (string, error) {
	if err := checkVNI(vni); err != nil {
		return "", fmt.Errorf("dataplane: %w", err)
	}
	if err := checkEndpointID(ep.ID); err != nil {
		return "", fmt.Errorf("dataplane: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.addEndpoint(vni, ep); err != nil {
		return "", fmt.Errorf("dataplane: endpoint %s on network %d: %w", ep.ID, vni, err)
	}
	return CtrVethName(ep.ID), nil
}

func (p *Plane) addEndpoint(vni uint32, ep Endpoint) error {
	br, err := p.link(BridgeName(vni), "bridge")
	if err != nil {
		return err
	}
	if br == nil {
		return fmt.Errorf("bridge %s is missing: the network is not set up on this host", BridgeName(vni))
	}
	mtu := ep.MTU
	if mtu == 0 {
		mtu = br.Attrs().MTU
	}
	host, err := p.link(HostVethName(ep.ID), "veth")
	if err != nil {
		return err
	}
	if host == nil {
		if host, err = p.addVeth(ep, mtu); err != nil {
			return err
		}
	} else if err := p.fixPeer(ep, mtu); err != nil {
		return err
	}
	return p.plug(host, br)
}

func (p *Plane) addVeth(ep Endpoint, mtu int) (netlink.Link, error) {
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU = HostVethName(ep.ID), mtu
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: CtrVethName(ep.ID), PeerHardwareAddr: ep.MAC, PeerTxQLen: -1}
	if err := p.h.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("creating veth pair %s/%s: %w", veth.Name, veth.PeerName, err)
	}
	return p.h.LinkByName(veth.Name)
}

// fixPeer sets ep's MAC and MTU on the container end if it is still in this namespace.
func (p *Plane) fixPeer(ep Endpoint, mtu int) error {
	peer, err := p.link(CtrVethName(ep.ID), "veth")
	if err != nil || peer == nil {
		return err
	}
	if ep.MAC != nil && !bytes.Equal(peer.Attrs().HardwareAddr, ep.MAC) {
		if err := p.h.LinkSetHardwareAddr(peer, ep.MAC); err != nil {
			return fmt.Errorf("MAC %s on %s: %w", ep.MAC, peer.Attrs().Name, err)
		}
	}
	return p.setMTU(peer, mtu)
}

// plug makes host a port of br, up.
func (p *Plane) plug(host, br netlink.Link) error {
	if host.Attrs().MasterIndex != br.Attrs().Index {
		if err := p.h.LinkSetMaster(host, br); err != nil {
			return fmt.Errorf("enslaving %s to %s: %w", host.Attrs().Name, br.Attrs().Name, err)
		}
	}
	if err := p.h.LinkSetUp(host); err != nil {
		return fmt.Errorf("setting %s up: %w", host.Attrs().Name, err)
	}
	return nil
}

// RemoveEndpoint removes endpoint id's veth pair (deleting the host end deletes both); a pair already gone, as
// when the container's namespace was destroyed, is fine.
func (p *Plane) RemoveEndpoint(id string) error {
	if err := checkEndpointID(id); err != nil {
		return fmt.Errorf("dataplane: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, name := range []string{HostVethName(id), CtrVethName(id)} {
		if err := p.remove(name, "veth"); err != nil {
			return fmt.Errorf("dataplane: endpoint %s: %w", id, err)
		}
	}
	return nil
}
