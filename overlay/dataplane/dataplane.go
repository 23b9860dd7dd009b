package dataplane

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
)

// Device names and defaults (docs/networks.md, "Names on the engine").
const (
	BridgePrefix   = "swbr" // bridge swbr<VNI>
	VXLANPrefix    = "swvx" // VXLAN device swvx<VNI>
	HostVethPrefix = "swh"  // veth host end swh<first 10 of the endpoint ID>
	CtrVethPrefix  = "swc"  // veth container end swc<same>, renamed by the engine
	EndpointIDLen  = 10     // characters of the endpoint ID in the veth names
	DefaultPort    = 4789   // IANA VXLAN UDP port

	// Encapsulation overhead: outer Ethernet 14 + IP (20 or 40) + UDP 8 + VXLAN 8.
	overheadV4 = 50
	overheadV6 = 70
	maxVNI     = 1<<24 - 1
	minMTU     = 68
)

// ErrNoVXLAN is matched (errors.Is) by the error of EnsureNetwork when the kernel cannot create VXLAN devices.
var ErrNoVXLAN = errors.New("this host cannot carry cluster networks: no VXLAN support in its kernel")

// Firewall lets frames cross a cluster network's bridge where the host's firewall would stop them: an engine
// sets the FORWARD policy to DROP, and with br_netfilter (which engines load) frames bridged between a container
// and the VXLAN device meet that policy too.
type Firewall interface {
	AllowBridge(bridge string) error  // idempotent
	RevokeBridge(bridge string) error // idempotent
}

// Config configures a Plane.
type Config struct {
	VTEP net.IP // this host's tunnel address: an address of a local link in the Plane's namespace (required)
	Port int    // VXLAN UDP destination port; 0 = DefaultPort
	// Handle is the netlink handle of the namespace to program; nil = the current namespace at New.
	// A Handle passed here is the caller's to close.
	Handle *netlink.Handle
	// Firewall opens each network's bridge to forwarding; nil = IPTables{} (the current namespace), so a Config
	// with a Handle elsewhere needs the Firewall of that namespace too.
	Firewall Firewall
}

// Network is one cluster network on this host.
type Network struct {
	VNI      uint32
	BridgeIP *net.IPNet // the network's gateway address held by the bridge (e.g. 10.0.1.1/24); nil = none
	MTU      int        // 0 = the underlay link's MTU less the encapsulation overhead
}

// Endpoint is one container's attachment.
type Endpoint struct {
	ID  string           // endpoint ID, hexadecimal, at least EndpointIDLen characters
	MAC net.HardwareAddr // the container end's address; nil = chosen by the kernel
	MTU int              // 0 = the bridge's
}

// Peer is an endpoint on some host: its IP and MAC, and the VTEP of its host.
type Peer struct {
	IP   net.IP
	MAC  net.HardwareAddr
	VTEP net.IP
}

// BridgeName is the bridge of network vni.
func BridgeName(vni uint32) string { return BridgePrefix + strconv.FormatUint(uint64(vni), 10) }

// VXLANName is the VXLAN device of network vni.
func VXLANName(vni uint32) string { return VXLANPrefix + strconv.FormatUint(uint64(vni), 10) }

// HostVethName is the host end of endpoint id's veth pair.
func HostVethName(id string) string { return HostVethPrefix + id[:min(len(id), EndpointIDLen)] }

// CtrVethName is the container end of endpoint id's veth pair.
func CtrVethName(id string) string { return CtrVethPrefix + id[:min(len(id), EndpointIDLen)] }

// vniFromVXLANName is the VNI named by a swvx<VNI> device name; ok is false for any other name.
func vniFromVXLANName(name string) (uint32, bool) {
	digits, found := strings.CutPrefix(name, VXLANPrefix)
	if !found || digits == "" || (len(digits) > 1 && digits[0] == '0') {
		return 0, false
	}
	v, err := strconv.ParseUint(digits, 10, 32)
	if err != nil || checkVNI(uint32(v)) != nil {
		return 0, false
	}
	return uint32(v), true
}

func checkVNI(vni uint32) error {
	if vni == 0 || vni > maxVNI {
		return fmt.Errorf("VNI %d out of range 1-%d", vni, maxVNI)
	}
	return nil
}

func checkEndpointID(id string) error {
	if len(id) < EndpointIDLen {
		return fmt.Errorf("endpoint ID %q: shorter than %d characters", id, EndpointIDLen)
	}
	for _, c := range id {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return fmt.Errorf("endpoint ID %q: not hexadecimal", id)
		}
	}
	return nil
}

// chooseMTU is the MTU of a network's devices: the network's own if set, else the underlay's less the
// encapsulation overhead of the VTEP's address family.
func chooseMTU(networkMTU, underlayMTU int, vtep net.IP) (int, error) {
	mtu := networkMTU
	if mtu == 0 {
		overhead := overheadV4
		if vtep.To4() == nil {
			overhead = overheadV6
		}
		mtu = underlayMTU - overhead
	}
	if mtu < minMTU {
		return 0, fmt.Errorf("MTU %d too small (network MTU %d, underlay MTU %d)", mtu, networkMTU, underlayMTU)
	}
	return mtu, nil
}

// randomMAC is a random locally administered unicast address, for a bridge whose address must not change as
// ports come and go.
func randomMAC() (net.HardwareAddr, error) {
	mac := make(net.HardwareAddr, 6)
	if _, err := rand.Read(mac); err != nil {
		return nil, err
	}
	mac[0] = mac[0]&^0x01 | 0x02
	return mac, nil
}

// pair is one key → value entry: MAC → VTEP (FDB) or IP → MAC (neighbour).
type pair struct{ key, val string }

// wanted is the FDB (MAC → VTEP) and neighbour (IP → MAC) entries peers ask for, those on local skipped.
func wanted(peers []Peer, local net.IP) (fdb, neigh map[string]string, err error) {
	fdb, neigh = map[string]string{}, map[string]string{}
	for _, p := range peers {
		if err := checkPeer(p, local); err != nil {
			return nil, nil, err
		}
		if p.VTEP.Equal(local) {
			continue
		}
		if err := put(fdb, "MAC", p.MAC.String(), p.VTEP.String()); err != nil {
			return nil, nil, err
		}
		if err := put(neigh, "IP", p.IP.String(), p.MAC.String()); err != nil {
			return nil, nil, err
		}
	}
	return fdb, neigh, nil
}

func checkPeer(p Peer, local net.IP) error {
	switch {
	case p.IP == nil || p.VTEP == nil:
		return fmt.Errorf("peer %v: IP and VTEP are required", p)
	case len(p.MAC) != 6 || p.MAC[0]&1 != 0 || isZero(p.MAC):
		return fmt.Errorf("peer %s: MAC %q is not a unicast Ethernet address", p.IP, p.MAC)
	case (p.VTEP.To4() == nil) != (local.To4() == nil):
		return fmt.Errorf("peer %s: VTEP %s is not of the local VTEP's address family (%s)", p.IP, p.VTEP, local)
	}
	return nil
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// put sets m[k] = v, refusing a second, different value for k.
func put(m map[string]string, what, k, v string) error {
	if old, ok := m[k]; ok && old != v {
		return fmt.Errorf("peers disagree: %s %s given as %s and %s", what, k, old, v)
	}
	m[k] = v
	return nil
}

// plan turns the current entries (a key may have several values, as a VXLAN FDB entry may have several remotes)
// into the wanted ones: del is applied first, then set (create or replace).
func plan(want map[string]string, have map[string][]string) (set, del []pair) {
	for k, vals := range have {
		w, ok := want[k]
		switch {
		case !ok:
			for _, v := range vals {
				del = append(del, pair{k, v})
			}
		case len(vals) == 1:
			if vals[0] != w {
				set = append(set, pair{k, w})
			}
		default:
			found := false
			for _, v := range vals {
				if v == w {
					found = true
				} else {
					del = append(del, pair{k, v})
				}
			}
			if !found {
				set = append(set, pair{k, w})
			}
		}
	}
	for k, w := range want {
		if _, ok := have[k]; !ok {
			set = append(set, pair{k, w})
		}
	}
	sortPairs(set)
	sortPairs(del)
	return set, del
}

func sortPairs(ps []pair) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].key != ps[j].key {
			return ps[i].key < ps[j].key
		}
		return ps[i].val < ps[j].val
	})
}
