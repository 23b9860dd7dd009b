package pipework

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"swarm/pipework/cmdline"
)

// nl applies steps with netlink: host is the namespace pipework runs in, ctr the container's.
type nl struct {
	host, ctr *netlink.Handle
	ns        netns.NsHandle
	pid       int
	undo      []func()
}

func openNetlink(pid int) (*nl, error) {
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return nil, cmdline.Fail(cmdline.ExitContainer, "opening the network namespace of process %d: %v", pid, err)
	}
	host, err := netlink.NewHandle()
	if err != nil {
		ns.Close()
		return nil, permission(err)
	}
	ctr, err := netlink.NewHandleAt(ns)
	if err != nil {
		host.Close()
		ns.Close()
		return nil, permission(err)
	}
	return &nl{host: host, ctr: ctr, ns: ns, pid: pid}, nil
}

func permission(err error) error {
	if errors.Is(err, syscall.EPERM) {
		return cmdline.Fail(cmdline.ExitPermission, "not permitted: run pipework as root (%v)", err)
	}
	return cmdline.Fail(cmdline.ExitApply, "netlink: %v", err)
}

func (n *nl) close() { n.host.Close(); n.ctr.Close(); n.ns.Close() }

func linkInfo(l netlink.Link, h *netlink.Handle) Link {
	a := l.Attrs()
	out := Link{Name: a.Name, Type: l.Type(), Alias: a.Alias, MTU: a.MTU}
	if addrs, err := h.AddrList(l, netlink.FAMILY_ALL); err == nil {
		for _, ad := range addrs {
			if ad.IP.IsLinkLocalUnicast() {
				continue
			}
			out.Addrs = append(out.Addrs, ad.IPNet.String())
		}
	}
	return out
}

// observe reads the state Plan needs.
func (n *nl) observe(containerID string) (*State, error) {
	st := &State{ContainerID: containerID, HostLinks: map[string]Link{}, ContainerLinks: map[string]Link{}}
	for _, side := range []struct {
		h   *netlink.Handle
		dst map[string]Link
	}{{n.host, st.HostLinks}, {n.ctr, st.ContainerLinks}} {
		links, err := side.h.LinkList()
		if err != nil {
			return nil, permission(err)
		}
		for _, l := range links {
			side.dst[l.Attrs().Name] = linkInfo(l, side.h)
		}
	}
	if gw := n.defaultRoute(); gw != nil && gw.Gw != nil {
		st.DefaultGateway = gw.Gw.String()
	}
	st.OVSBridges = ovsBridges()
	return st, nil
}

func (n *nl) defaultRoute() *netlink.Route {
	routes, _ := n.ctr.RouteList(nil, netlink.FAMILY_V4)
	for i, r := range routes {
		if r.Dst == nil || r.Dst.String() == "0.0.0.0/0" {
			return &routes[i]
		}
	}
	return nil
}

// apply runs the steps; on error every step already done is undone, newest first.
func (n *nl) apply(s *cmdline.Spec, steps []Step) error {
	for _, st := range steps {
		if err := n.step(s, st); err != nil {
			for i := len(n.undo) - 1; i >= 0; i-- {
				n.undo[i]()
			}
			return cmdline.Fail(cmdline.ExitApply, "%s %s: %v (everything pipework created was removed)", st.Op, st.Name, err)
		}
	}
	return nil
}

func (n *nl) step(s *cmdline.Spec, st Step) error {
	switch st.Op {
	case "create-bridge":
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: st.Name}}
		if err := n.host.LinkAdd(br); err != nil {
			return err
		}
		n.undo = append(n.undo, func() { n.host.LinkDel(br) })
		return n.host.LinkSetUp(br)
	case "create-ovs-bridge":
		if _, err := ovsVsctl("--may-exist", "add-br", st.Name); err != nil {
			return err
		}
		n.undo = append(n.undo, func() { ovsVsctl("--if-exists", "del-br", st.Name) })
		if br, err := n.host.LinkByName(st.Name); err == nil {
			n.host.LinkSetUp(br)
		}
		return nil
	case "ovs-add-port":
		args := []string{"--may-exist", "add-port", st.Parent, st.Name}
		if st.VLAN != 0 {
			args = append(args, fmt.Sprintf("tag=%d", st.VLAN))
		}
		if _, err := ovsVsctl(args...); err != nil {
			return err
		}
		n.undo = append(n.undo, func() { ovsVsctl("--if-exists", "del-port", st.Parent, st.Name) })
		return nil
	case "create-vlan":
		parent, err := n.host.LinkByName(st.Parent)
		if err != nil {
			return err
		}
		v := &netlink.Vlan{LinkAttrs: netlink.LinkAttrs{Name: st.Name, ParentIndex: parent.Attrs().Index, MTU: st.MTU}, VlanId: st.VLAN}
		if err := n.host.LinkAdd(v); err != nil {
			return err
		}
		n.undo = append(n.undo, func() { n.host.LinkDel(v) })
		n.host.LinkSetUp(parent)
		return n.host.LinkSetUp(v)
	case "create-veth":
		return n.veth(s, st)
	case "create-macvlan", "create-ipvlan", "create-dummy":
		return n.child(st)
	case "move-link":
		return n.move(st)
	case "configure":
		return n.configure(s, st)
	}
	return fmt.Errorf("unknown step %q", st.Op)
}

// veth creates the pair with the container end already inside the container under its final name: a clash
// there fails before anything exists on the host.
func (n *nl) veth(s *cmdline.Spec, st Step) error {
	attrs := netlink.LinkAttrs{Name: st.Name, MTU: st.MTU}
	if st.Parent != "" { // a Linux bridge; an Open vSwitch port is added by its own step
		br, err := n.host.LinkByName(st.Parent)
		if err != nil {
			return err
		}
		attrs.MasterIndex = br.Attrs().Index
	}
	v := &netlink.Veth{LinkAttrs: attrs, PeerName: st.Peer, PeerMTU: uint32(st.MTU), PeerNamespace: netlink.NsFd(int(n.ns))}
	if err := n.host.LinkAdd(v); err != nil {
		return err
	}
	n.undo = append(n.undo, func() { n.host.LinkDel(v) })
	return n.host.LinkSetUp(v)
}

// child creates a macvlan/ipvlan on a host parent, or a dummy, directly inside the container namespace.
func (n *nl) child(st Step) error {
	attrs := netlink.LinkAttrs{Name: st.Name, MTU: st.MTU, Namespace: netlink.NsFd(int(n.ns))}
	var l netlink.Link
	switch st.Op {
	case "create-dummy":
		l = &netlink.Dummy{LinkAttrs: attrs}
	default:
		parent, err := n.host.LinkByName(st.Parent)
		if err != nil {
			return err
		}
		attrs.ParentIndex = parent.Attrs().Index
		n.host.LinkSetUp(parent)
		if st.Op == "create-ipvlan" {
			l = &netlink.IPVlan{LinkAttrs: attrs, Mode: netlink.IPVLAN_MODE_L2}
		} else {
			l = &netlink.Macvlan{LinkAttrs: attrs, Mode: netlink.MACVLAN_MODE_BRIDGE}
		}
	}
	if err := n.host.LinkAdd(l); err != nil {
		return err
	}
	n.undo = append(n.undo, func() {
		if c, err := n.ctr.LinkByName(st.Name); err == nil {
			n.ctr.LinkDel(c)
		}
	})
	return nil
}

// move hands a host interface to the container (--direct-phys) and renames it there.
func (n *nl) move(st Step) error {
	l, err := n.host.LinkByName(st.Name)
	if err != nil {
		return err
	}
	n.host.LinkSetDown(l)
	if err := n.host.LinkSetNsFd(l, int(n.ns)); err != nil {
		return err
	}
	moved, err := n.ctr.LinkByName(st.Name)
	if err != nil {
		return err
	}
	n.undo = append(n.undo, func() { n.ctr.LinkSetName(moved, st.Name); n.ctr.LinkSetNsPid(moved, 1) })
	return n.ctr.LinkSetName(moved, st.Peer)
}

// configure sets MAC, alias, address, routes and brings the container end up, announcing its address.
func (n *nl) configure(s *cmdline.Spec, st Step) error {
	l, err := n.ctr.LinkByName(st.Name)
	if err != nil {
		return err
	}
	if st.MAC != "" {
		hw, _ := net.ParseMAC(st.MAC)
		if err := n.ctr.LinkSetHardwareAddr(l, hw); err != nil {
			return err
		}
	}
	n.ctr.LinkSetAlias(l, alias(s))
	n.announce(st.Name)
	if st.Addr != "" {
		addr, err := netlink.ParseAddr(st.Addr)
		if err != nil {
			return err
		}
		if err := n.ctr.AddrReplace(l, addr); err != nil {
			return err
		}
	}
	if err := n.ctr.LinkSetUp(l); err != nil {
		return err
	}
	if st.Gateway != "" {
		return n.gateway(s, l, net.ParseIP(st.Gateway))
	}
	return nil
}

// gateway replaces the default route (recording the previous one for detach); an off-link gateway first
// gets an on-link host route (/32 or /128).
func (n *nl) gateway(s *cmdline.Spec, l netlink.Link, gw net.IP) error {
	if prev := n.defaultRoute(); prev != nil && prev.Gw != nil {
		saveState(n.pid, s.ContainerIf, prev.Gw.String(), prev.LinkIndex)
	}
	if s.Addr != nil && !s.Addr.Contains(gw) {
		bits := 32
		if gw.To4() == nil {
			bits = 128
		}
		r := &netlink.Route{LinkIndex: l.Attrs().Index, Dst: &net.IPNet{IP: gw, Mask: net.CIDRMask(bits, bits)}, Scope: netlink.SCOPE_LINK}
		if err := n.ctr.RouteReplace(r); err != nil {
			return err
		}
	}
	return n.ctr.RouteReplace(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: gw})
}

// announce makes the kernel send a gratuitous ARP when the link comes up (arp_notify), so neighbours learn
// the address at once. It is written from inside the container's namespace.
func (n *nl) announce(ifname string) {
	exec.Command("nsenter", fmt.Sprintf("--net=/proc/%d/ns/net", n.pid), "sh", "-c",
		"echo 1 > /proc/sys/net/ipv4/conf/"+ifname+"/arp_notify").Run()
}

// stateDir keeps, per container, the default route replaced by an attach.
const stateDir = "/run/swarm-pipework"

func saveState(pid int, cif, gw string, link int) {
	dir := filepath.Join(stateDir, fmt.Sprint(pid))
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, cif+".route"), []byte(fmt.Sprintf("%s %d", gw, link)), 0o644)
}

// detach removes the interface pipework added (and its Open vSwitch port) and restores the default route it
// replaced.
func (n *nl) detach(s *cmdline.Spec, containerID string) error {
	l, err := n.ctr.LinkByName(s.ContainerIf)
	if err != nil {
		return cmdline.Fail(cmdline.ExitApply, "container has no interface %s", s.ContainerIf)
	}
	if !strings.HasPrefix(l.Attrs().Alias, "pipework:") {
		return cmdline.Fail(cmdline.ExitApply, "interface %s was not added by pipework; leaving it alone", s.ContainerIf)
	}
	if err := n.ctr.LinkDel(l); err != nil {
		return cmdline.Fail(cmdline.ExitApply, "removing %s: %v", s.ContainerIf, err)
	}
	if br := strings.TrimPrefix(l.Attrs().Alias, "pipework:"); ovsBridges()[br] {
		ovsVsctl("--if-exists", "del-port", br, hostName(containerID, s.ContainerIf))
	}
	file := filepath.Join(stateDir, fmt.Sprint(n.pid), s.ContainerIf+".route")
	if data, err := os.ReadFile(file); err == nil {
		var gw string
		var idx int
		fmt.Sscan(string(data), &gw, &idx)
		if err := n.ctr.RouteReplace(&netlink.Route{LinkIndex: idx, Gw: net.ParseIP(gw)}); err != nil {
			return cmdline.Fail(cmdline.ExitApply, "restoring the default route via %s: %v", gw, err)
		}
		os.Remove(file)
	}
	return nil
}
