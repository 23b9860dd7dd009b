package netstate

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"regexp"
	"strconv"
	"time"

	"github.com/docker/docker/errdefs"
)

// Network is a cluster network as stored.
type Network struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Subnet     string            `json:"subnet"`
	Gateway    string            `json:"gateway"`
	IPRange    string            `json:"ip_range,omitempty"`
	VNI        uint32            `json:"vni"`
	MTU        int               `json:"mtu,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Options    map[string]string `json:"options,omitempty"`
	Attachable bool              `json:"attachable,omitempty"`
	Internal   bool              `json:"internal,omitempty"`
	Ingress    bool              `json:"ingress,omitempty"` // the routing mesh's network (made by the manager)
	Created    time.Time         `json:"created"`
}

// Spec is what a network create asks for; empty Subnet takes the next free one from the pool, empty Gateway the
// subnet's first address.
type Spec struct {
	Name                     string
	Subnet, Gateway, IPRange string
	Labels, Options          map[string]string
	Attachable, Internal     bool
	Ingress                  bool
}

// Driver options a cluster network takes, as Docker's overlay driver names them.
const (
	OptVNI       = "com.docker.network.driver.overlay.vxlanid_list"
	OptMTU       = "com.docker.network.driver.mtu"
	OptEncrypted = "encrypted"
)

// VNI range: 4096 and up, as swarm mode allocates, so one fabric may carry both.
const (
	minVNI = 4096
	maxVNI = 1<<24 - 1
)

var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// parsed is a validated Spec: the networks it names, and its pinned VNI and MTU (0: none).
type parsed struct {
	spec    Spec
	subnet  *net.IPNet // nil: take one from the pool
	gateway net.IP
	ipRange *net.IPNet
	vni     uint32
	mtu     int
}

// parse validates s; every error is an invalid-parameter error saying what is wrong.
func parse(s Spec) (*parsed, error) {
	p := &parsed{spec: s}
	if !validName.MatchString(s.Name) {
		return nil, errdefs.InvalidParameter(fmt.Errorf("invalid network name %q: use letters, digits and _ . - (not first)", s.Name))
	}
	if err := p.parseOptions(); err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	if err := p.parseAddresses(); err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	return p, nil
}

func (p *parsed) parseOptions() error {
	for k, v := range p.spec.Options {
		switch k {
		case OptVNI:
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || n < minVNI || n > maxVNI {
				return fmt.Errorf("invalid %s %q: one VXLAN ID from %d to %d", OptVNI, v, minVNI, maxVNI)
			}
			p.vni = uint32(n)
		case OptMTU:
			n, err := strconv.Atoi(v)
			if err != nil || n < 576 || n > 9000 {
				return fmt.Errorf("invalid %s %q: an MTU from 576 to 9000", OptMTU, v)
			}
			p.mtu = n
		case OptEncrypted:
			return fmt.Errorf("option %q is not supported: cluster networks are not encrypted yet", k)
		default:
			return fmt.Errorf("unknown driver option %q for an overlay network (known: %s, %s)", k, OptVNI, OptMTU)
		}
	}
	return nil
}

func (p *parsed) parseAddresses() error {
	s := p.spec
	if s.Subnet == "" {
		if s.Gateway != "" || s.IPRange != "" {
			return fmt.Errorf("--gateway and --ip-range need a --subnet")
		}
		return nil
	}
	ip, subnet, err := net.ParseCIDR(s.Subnet)
	if err != nil || ip.To4() == nil {
		return fmt.Errorf("invalid subnet %q: an IPv4 CIDR such as 10.0.9.0/24", s.Subnet)
	}
	if ones, _ := subnet.Mask.Size(); ones > 29 {
		return fmt.Errorf("invalid subnet %s: too small, use /29 or larger", s.Subnet)
	}
	p.subnet = subnet
	if s.IPRange != "" {
		_, r, err := net.ParseCIDR(s.IPRange)
		if err != nil || !contains(subnet, r) {
			return fmt.Errorf("invalid ip range %q: a CIDR inside the subnet %s", s.IPRange, subnet)
		}
		p.ipRange = r
	}
	if s.Gateway != "" {
		gw := net.ParseIP(s.Gateway)
		if gw == nil || !usable(subnet, gw) {
			return fmt.Errorf("invalid gateway %q: a host address inside the subnet %s", s.Gateway, subnet)
		}
		p.gateway = gw.To4()
	}
	return nil
}

// network builds the record of p with its subnet and VNI chosen.
func (p *parsed) network(subnet *net.IPNet, vni uint32) *Network {
	gw := p.gateway
	if gw == nil {
		gw = nextIP(subnet.IP)
	}
	n := &Network{ID: newID(), Name: p.spec.Name, Subnet: subnet.String(), Gateway: gw.String(), VNI: vni, MTU: p.mtu,
		Labels: maps.Clone(p.spec.Labels), Options: maps.Clone(p.spec.Options), Attachable: p.spec.Attachable,
		Internal: p.spec.Internal, Ingress: p.spec.Ingress, Created: time.Now().UTC()}
	if p.ipRange != nil {
		n.IPRange = p.ipRange.String()
	}
	return n
}

// newID returns a 64-hex-digit ID, as Docker's network IDs are.
func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}
