package pipework

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"strings"

	"swarm/pipework/cmdline"
)

// Link is an interface as observed.
type Link struct {
	Name  string
	Type  string // bridge, veth, macvlan, ipvlan, vlan, dummy, device, ...
	Alias string
	MTU   int
	Addrs []string // CIDR strings
}

// State is what exists before a command runs.
type State struct {
	ContainerID    string
	HostLinks      map[string]Link // host namespace
	ContainerLinks map[string]Link // container namespace
	DefaultGateway string          // container's current default route gateway ("" when none)
	OVSBridges     map[string]bool // Open vSwitch bridges (none when Open vSwitch is absent)
}

// Step is one change; Apply runs steps in order and undoes the done ones on failure.
type Step struct {
	Op      string // create-bridge, create-ovs-bridge, create-vlan, create-veth, ovs-add-port, create-macvlan, create-ipvlan, create-dummy, move-link, configure
	Name    string // interface created or configured
	Peer    string // container end of a veth
	Parent  string // bridge (veth master) or parent device
	MTU     int
	VLAN    int
	Mode    string
	MAC     string
	Addr    string // CIDR
	Gateway string
}

// alias marks the interfaces pipework made in a container, so a second identical call is recognised.
func alias(s *cmdline.Spec) string { return "pipework:" + s.HostIf }

// hostName is the deterministic host end of a veth: "pw" + 13 hex digits of sha256(container ID + CIF).
func hostName(containerID, cif string) string {
	sum := sha256.Sum256([]byte(containerID + "/" + cif))
	return "pw" + hex.EncodeToString(sum[:])[:13]
}

// Plan turns a parsed attach into steps, given the observed state. No steps and no error means the container
// already has exactly this interface (the call is a no-op).
func Plan(s *cmdline.Spec, st *State) ([]Step, error) {
	if cur, ok := st.ContainerLinks[s.ContainerIf]; ok {
		if cur.Alias == alias(s) && (s.DHCP || containsAddr(cur.Addrs, s.Addr)) {
			return nil, nil
		}
		return nil, cmdline.Fail(cmdline.ExitApply, "interface %s already exists in container %s; choose another with -i", s.ContainerIf, short(st.ContainerID))
	}
	host, hostExists := st.HostLinks[s.HostIf]
	var steps []Step
	kind := hostKind(s.HostIf, host, hostExists || st.OVSBridges[s.HostIf], st.OVSBridges[s.HostIf])
	switch {
	case kind == "" && !hostExists:
		return nil, cmdline.Fail(cmdline.ExitHostIf, "I do not know how to setup interface %s.", s.HostIf)
	case kind == "bridge":
		if s.VLAN != 0 {
			return nil, cmdline.Fail(cmdline.ExitHostIf, "VLAN configuration currently unsupported for Linux bridge.")
		}
		mtu := host.MTU
		if !hostExists {
			mtu = 1500
			steps = append(steps, Step{Op: "create-bridge", Name: s.HostIf})
		}
		local, err := vethHostEnd(s, st)
		if err != nil {
			return nil, err
		}
		steps = append(steps, Step{Op: "create-veth", Name: local, Peer: s.ContainerIf, Parent: s.HostIf, MTU: mtu})
	case kind == "ovs":
		mtu := host.MTU
		if !st.OVSBridges[s.HostIf] {
			steps = append(steps, Step{Op: "create-ovs-bridge", Name: s.HostIf})
		}
		if mtu == 0 {
			mtu = 1500
		}
		local, err := vethHostEnd(s, st)
		if err != nil {
			return nil, err
		}
		steps = append(steps, Step{Op: "create-veth", Name: local, Peer: s.ContainerIf, MTU: mtu},
			Step{Op: "ovs-add-port", Name: local, Parent: s.HostIf, VLAN: s.VLAN})
	case kind == "dummy":
		steps = append(steps, Step{Op: "create-dummy", Name: s.ContainerIf, MTU: 1500})
	default: // a physical (or any other) interface
		parent := s.HostIf
		if s.VLAN != 0 {
			parent = fmt.Sprintf("%s.%d", s.HostIf, s.VLAN)
			if v, ok := st.HostLinks[parent]; !ok {
				steps = append(steps, Step{Op: "create-vlan", Name: parent, Parent: s.HostIf, VLAN: s.VLAN, MTU: host.MTU})
			} else if v.Type != "vlan" {
				return nil, cmdline.Fail(cmdline.ExitHostIf, "%s exists but is a %s, not a VLAN", parent, v.Type)
			}
		}
		switch {
		case s.DirectPhys:
			steps = append(steps, Step{Op: "move-link", Name: parent, Peer: s.ContainerIf})
		case s.Mode == "ipvlan":
			steps = append(steps, Step{Op: "create-ipvlan", Name: s.ContainerIf, Parent: parent, MTU: host.MTU})
		default:
			steps = append(steps, Step{Op: "create-macvlan", Name: s.ContainerIf, Parent: parent, MTU: host.MTU})
		}
	}
	cfg := Step{Op: "configure", Name: s.ContainerIf}
	if s.MAC != nil {
		cfg.MAC = s.MAC.String()
	}
	if s.Addr != nil {
		cfg.Addr = s.Addr.String()
	}
	if s.Gateway != nil {
		cfg.Gateway = s.Gateway.String()
	}
	return append(steps, cfg), nil
}

// vethHostEnd names the host end of a veth (-l, else a name derived from the container and its interface)
// and refuses one that already exists.
func vethHostEnd(s *cmdline.Spec, st *State) (string, error) {
	local := s.LocalIf
	if local == "" {
		local = hostName(st.ContainerID, s.ContainerIf)
	}
	if _, clash := st.HostLinks[local]; clash {
		return "", cmdline.Fail(cmdline.ExitHostIf, "Link %s exists on the host: remove it or choose another with -l", local)
	}
	return local, nil
}

// hostKind classifies the host interface as the original did: an Open vSwitch bridge (known to Open vSwitch, or
// missing and named ovs*), a Linux bridge (existing, or missing and named br*), dummy (missing and named
// dummy*), or physical/other when it exists.
func hostKind(name string, l Link, exists, ovs bool) string {
	switch {
	case ovs, !exists && strings.HasPrefix(name, "ovs"):
		return "ovs"
	case exists && l.Type == "bridge", !exists && strings.HasPrefix(name, "br"):
		return "bridge"
	case !exists && strings.HasPrefix(name, "dummy"):
		return "dummy"
	case exists:
		return "phys"
	}
	return ""
}

func containsAddr(addrs []string, want *net.IPNet) bool {
	if want == nil {
		return len(addrs) == 0
	}
	for _, a := range addrs {
		if a == want.String() {
			return true
		}
	}
	return false
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
