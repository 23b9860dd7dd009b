package dataplane

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
)

// Plane programs the cluster networks of one host in one network namespace. Its methods are safe for
// concurrent use; each holds the Plane for its whole reconciliation.
type Plane struct {
	mu    sync.Mutex
	h     *netlink.Handle
	owned bool // h was opened by New: Close closes it
	vtep  net.IP
	port  int
	fw    Firewall
}

// New checks cfg and returns a Plane: VTEP must be an address of a link in the namespace.
func New(cfg Config) (*Plane, error) {
	if cfg.VTEP == nil || cfg.VTEP.IsUnspecified() {
		return nil, errors.New("dataplane: a VTEP address is required")
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("dataplane: UDP port %d out of range", cfg.Port)
	}
	p := &Plane{h: cfg.Handle, vtep: cfg.VTEP, port: cfg.Port, fw: cfg.Firewall}
	if p.fw == nil {
		p.fw = IPTables{}
	}
	if p.port == 0 {
		p.port = DefaultPort
	}
	if p.h == nil {
		h, err := netlink.NewHandle()
		if err != nil {
			return nil, fmt.Errorf("dataplane: netlink: %w", err)
		}
		p.h, p.owned = h, true
	}
	if _, err := p.underlay(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Close releases the netlink handle New opened (not one given in Config).
func (p *Plane) Close() {
	if p.owned {
		p.h.Close()
		p.owned = false
	}
}

// underlay is the link holding the VTEP address.
func (p *Plane) underlay() (netlink.Link, error) {
	addrs, err := p.h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("dataplane: listing addresses: %w", err)
	}
	for _, a := range addrs {
		if a.IP.Equal(p.vtep) {
			l, err := p.h.LinkByIndex(a.LinkIndex)
			if err != nil {
				return nil, fmt.Errorf("dataplane: link of VTEP address %s: %w", p.vtep, err)
			}
			return l, nil
		}
	}
	return nil, fmt.Errorf("dataplane: VTEP address %s is not an address of any link in this network namespace", p.vtep)
}

// EnsureNetwork makes network n's bridge and VXLAN device, with the right settings, enslaved and up.
func (p *Plane) EnsureNetwork(n Network) error {
	if err := checkVNI(n.VNI); err != nil {
		return fmt.Errorf("dataplane: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.ensureNetwork(n); err != nil {
		return fmt.Errorf("dataplane: network %d: %w", n.VNI, err)
	}
	return nil
}

func (p *Plane) ensureNetwork(n Network) error {
	mtu, err := p.networkMTU(n)
	if err != nil {
		return err
	}
	br, err := p.ensureBridge(BridgeName(n.VNI), mtu)
	if err != nil {
		return err
	}
	vx, err := p.ensureVXLAN(n.VNI, mtu)
	if err != nil {
		return err
	}
	if vx.Attrs().MasterIndex != br.Attrs().Index {
		if err := p.h.LinkSetMaster(vx, br); err != nil {
			return fmt.Errorf("enslaving %s to %s: %w", vx.Attrs().Name, br.Attrs().Name, err)
		}
	}
	// A bridge follows its ports' smallest MTU: set it again once the port is in.
	if err := p.setMTU(br, mtu); err != nil {
		return err
	}
	for _, l := range []netlink.Link{vx, br} {
		if err := p.h.LinkSetUp(l); err != nil {
			return fmt.Errorf("setting %s up: %w", l.Attrs().Name, err)
		}
	}
	if n.BridgeIP != nil {
		if err := p.h.AddrReplace(br, &netlink.Addr{IPNet: n.BridgeIP}); err != nil {
			return fmt.Errorf("address %s on %s: %w", n.BridgeIP, br.Attrs().Name, err)
		}
	}
	return p.fw.AllowBridge(br.Attrs().Name)
}

func (p *Plane) networkMTU(n Network) (int, error) {
	underlayMTU := 0
	if n.MTU == 0 {
		l, err := p.underlay()
		if err != nil {
			return 0, err
		}
		underlayMTU = l.Attrs().MTU
	}
	return chooseMTU(n.MTU, underlayMTU, p.vtep)
}

// link is the device called name, nil if there is none; a device of another kind is an error.
func (p *Plane) link(name, kind string) (netlink.Link, error) {
	l, err := p.h.LinkByName(name)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("looking up %s: %w", name, err)
	}
	if l.Type() != kind {
		return nil, fmt.Errorf("device %s exists but is a %s, not a %s: remove it or free the name", name, l.Type(), kind)
	}
	return l, nil
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, syscall.ENODEV)
}

func (p *Plane) ensureBridge(name string, mtu int) (netlink.Link, error) {
	l, err := p.link(name, "bridge")
	if err != nil || l != nil {
		if err == nil {
			err = p.setMTU(l, mtu)
		}
		return l, err
	}
	mac, err := randomMAC()
	if err != nil {
		return nil, err
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU, attrs.HardwareAddr = name, mtu, mac // a set address stays as ports come and go
	if err := p.h.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil {
		return nil, fmt.Errorf("creating bridge %s: %w", name, err)
	}
	return p.h.LinkByName(name)
}

func (p *Plane) setMTU(l netlink.Link, mtu int) error {
	if l.Attrs().MTU == mtu {
		return nil
	}
	if err := p.h.LinkSetMTU(l, mtu); err != nil {
		return fmt.Errorf("MTU %d on %s: %w", mtu, l.Attrs().Name, err)
	}
	return nil
}

// wantVXLAN is the VXLAN device of network vni.
func (p *Plane) wantVXLAN(vni uint32, mtu int) *netlink.Vxlan {
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU = VXLANName(vni), mtu
	return &netlink.Vxlan{LinkAttrs: attrs, VxlanId: int(vni), SrcAddr: p.vtep, Port: p.port, Learning: false, Proxy: true}
}

func (p *Plane) ensureVXLAN(vni uint32, mtu int) (netlink.Link, error) {
	want := p.wantVXLAN(vni, mtu)
	l, err := p.link(want.Name, "vxlan")
	if err != nil {
		return nil, err
	}
	if l != nil {
		if vxlanDiffers(l.(*netlink.Vxlan), want) == "" {
			return l, p.setMTU(l, mtu)
		}
		// VNI, addresses and port cannot be changed in place: make it again (its entries go with it).
		if err := p.h.LinkDel(l); err != nil {
			return nil, fmt.Errorf("removing misconfigured %s (%s): %w", want.Name, vxlanDiffers(l.(*netlink.Vxlan), want), err)
		}
	}
	if err := p.h.LinkAdd(want); err != nil {
		return nil, vxlanAddError(want.Name, err)
	}
	return p.h.LinkByName(want.Name)
}

// vxlanAddError explains a failure to create a VXLAN device, as ErrNoVXLAN when the kernel has no VXLAN.
func vxlanAddError(name string, err error) error {
	if errors.Is(err, syscall.EOPNOTSUPP) {
		return fmt.Errorf("creating %s: %w (%w)", name, ErrNoVXLAN, err)
	}
	return fmt.Errorf("creating %s: %w", name, err)
}

// vxlanDiffers names the first setting of have that is not want's, "" if none.
func vxlanDiffers(have, want *netlink.Vxlan) string {
	switch {
	case have.VxlanId != want.VxlanId:
		return fmt.Sprintf("VNI %d, not %d", have.VxlanId, want.VxlanId)
	case !have.SrcAddr.Equal(want.SrcAddr):
		return fmt.Sprintf("local address %s, not %s", have.SrcAddr, want.SrcAddr)
	case have.Port != want.Port:
		return fmt.Sprintf("port %d, not %d", have.Port, want.Port)
	case have.Learning != want.Learning || have.Proxy != want.Proxy:
		return fmt.Sprintf("learning %v proxy %v, not %v %v", have.Learning, have.Proxy, want.Learning, want.Proxy)
	case have.Group != nil && !have.Group.IsUnspecified():
		return fmt.Sprintf("remote or group %s, not none", have.Group)
	case have.FlowBased || have.L2miss || have.L3miss:
		return "external or miss notifications set"
	}
	return ""
}

// RemoveNetwork removes network vni's VXLAN device and bridge, with every entry on them; devices already gone
// are fine. Veth host ends still on the bridge are left for RemoveEndpoint.
func (p *Plane) RemoveNetwork(vni uint32) error {
	if err := checkVNI(vni); err != nil {
		return fmt.Errorf("dataplane: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range []struct{ name, kind string }{{VXLANName(vni), "vxlan"}, {BridgeName(vni), "bridge"}} {
		if err := p.remove(d.name, d.kind); err != nil {
			return fmt.Errorf("dataplane: network %d: %w", vni, err)
		}
	}
	if err := p.fw.RevokeBridge(BridgeName(vni)); err != nil {
		return fmt.Errorf("dataplane: network %d: %w", vni, err)
	}
	return nil
}

// remove deletes device name if it is there and of kind.
func (p *Plane) remove(name, kind string) error {
	l, err := p.link(name, kind)
	if err != nil || l == nil {
		return err
	}
	if err := p.h.LinkDel(l); err != nil && !isNotFound(err) {
		return fmt.Errorf("removing %s: %w", name, err)
	}
	return nil
}

// Networks is the VNIs whose VXLAN devices (swvx<VNI>) exist, in order.
func (p *Plane) Networks() ([]uint32, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	links, err := p.h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("dataplane: listing links: %w", err)
	}
	var vnis []uint32
	for _, l := range links {
		if vni, ok := vniFromVXLANName(l.Attrs().Name); ok && l.Type() == "vxlan" {
			vnis = append(vnis, vni)
		}
	}
	sort.Slice(vnis, func(i, j int) bool { return vnis[i] < vnis[j] })
	return vnis, nil
}
