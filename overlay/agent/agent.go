package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"swarm/overlay/dataplane"
	"swarm/overlay/mesh"
	"swarm/overlay/netstate"
)

// OptNetwork is the driver and IPAM option that names the cluster network an engine network stands for.
const OptNetwork = "swarm.network.id"

// Plane is the kernel side the agent drives (dataplane.Plane).
type Plane interface {
	EnsureNetwork(n dataplane.Network) error
	RemoveNetwork(vni uint32) error
	AddEndpoint(vni uint32, ep dataplane.Endpoint) (string, error)
	RemoveEndpoint(id string) error
	SetPeers(vni uint32, peers []dataplane.Peer) error
	BridgeMAC(vni uint32) (net.HardwareAddr, error)
	SetLocalAddresses(vni uint32, ips []net.IP) error
}

// Config is what an Agent needs.
type Config struct {
	Host     string // this host's advertised address (as in discovery): the owner of its claims and endpoints
	VTEP     net.IP // this host's VXLAN address
	State    *netstate.Store
	Plane    Plane
	Engine   Engine   // nil: endpoints are published without names, and none is swept
	Resolver Resolver // nil: no DNS
	Mesh     Mesh     // nil: no routing mesh (names still answer with virtual IPs)
	Logger   *slog.Logger
}

// Agent serves one host. Its fields under mu.
type Agent struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	nets     map[string]*netstate.Network // engine network ID -> cluster network
	cached   map[string]*netstate.Network // cluster ID -> network, as last read
	kick     chan struct{}                // a local network came or went: program its peers now
	lastSeen []netstate.Endpoint          // every endpoint, as last read
	book     *book                        // their names
	mine     map[string]netstate.Endpoint // this host's endpoints by ID, as published
	// publishedAt is when this process published each of them: a read that lacks one published only now
	// merely predates it.
	publishedAt map[string]time.Time
	// programmed is each network's entries as last set; until settleUntil (after Consul lost its data) entries
	// are only added to them.
	programmed  map[uint32][]dataplane.Peer
	settleUntil time.Time
	overLimit   bool               // the containers' possible ARP entries passed the kernel's limit (warned)
	services    []netstate.Service // every service's record, as last read
	hostAddrs   map[string]net.IP  // cluster network ID -> this host's own address there (mesh.go)
	bridgeAddrs map[uint32]string  // VNI -> the local addresses last set on its bridge
	applied     []mesh.Frontend    // the mesh's frontends as last applied
	heard       map[string]heard   // container name -> its last health from the engine's events (health.go)
	healthSeq   uint64             // how many health events were heard
	ctx         context.Context    // Run's, for work that outlives a call (nil before Run)
}

// New checks cfg; it starts nothing.
func New(cfg Config) (*Agent, error) {
	if cfg.Host == "" || cfg.VTEP == nil || cfg.State == nil || cfg.Plane == nil {
		return nil, errors.New("agent: Host, VTEP, State and Plane are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Agent{cfg: cfg, log: cfg.Logger, nets: map[string]*netstate.Network{}, cached: map[string]*netstate.Network{},
		kick: make(chan struct{}, 1), mine: map[string]netstate.Endpoint{}, publishedAt: map[string]time.Time{}, programmed: map[uint32][]dataplane.Peer{},
		hostAddrs: map[string]net.IP{}, bridgeAddrs: map[uint32]string{}, heard: map[string]heard{}}, nil
}

// network returns the cluster network engine network engineID stands for, reading this host's attachments
// from Consul when it is not known yet (after a restart).
func (a *Agent) network(ctx context.Context, engineID string) (*netstate.Network, error) {
	a.mu.Lock()
	n := a.nets[engineID]
	a.mu.Unlock()
	if n != nil {
		return n, nil
	}
	att, err := a.cfg.State.Attachments(ctx, a.cfg.Host)
	if err != nil {
		return nil, err
	}
	id, ok := att[engineID]
	if !ok {
		return nil, fmt.Errorf("network %s is not a cluster network known to this host's swarm join", short(engineID))
	}
	n, err = a.clusterNetwork(ctx, id)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.nets[engineID] = n
	a.mu.Unlock()
	return n, nil
}

// clusterNetwork reads cluster network id (kept: a network's settings never change).
func (a *Agent) clusterNetwork(ctx context.Context, id string) (*netstate.Network, error) {
	a.mu.Lock()
	n := a.cached[id]
	a.mu.Unlock()
	if n != nil {
		return n, nil
	}
	n, err := a.cfg.State.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.cached[id] = n
	a.mu.Unlock()
	return n, nil
}

// planeNetwork is n as the kernel side sees it.
func planeNetwork(n *netstate.Network) (dataplane.Network, error) {
	ip, subnet, err := net.ParseCIDR(n.Subnet)
	if err != nil || ip.To4() == nil {
		return dataplane.Network{}, fmt.Errorf("network %s has a bad subnet %q", n.Name, n.Subnet)
	}
	gw := net.ParseIP(n.Gateway)
	if gw == nil {
		return dataplane.Network{}, fmt.Errorf("network %s has a bad gateway %q", n.Name, n.Gateway)
	}
	return dataplane.Network{VNI: n.VNI, MTU: n.MTU, BridgeIP: &net.IPNet{IP: gw, Mask: subnet.Mask}}, nil
}

// poke asks Run to program the peers now.
func (a *Agent) poke() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// life is Run's context (background before Run).
func (a *Agent) life() context.Context {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctx == nil {
		return context.Background()
	}
	return a.ctx
}

// serveDNS starts the network's DNS on its gateway, if there is a Resolver.
func (a *Agent) serveDNS(n *netstate.Network) {
	if a.cfg.Resolver == nil {
		return
	}
	if err := a.cfg.Resolver.Listen(n.ID, net.ParseIP(n.Gateway)); err != nil {
		a.log.Warn("cluster networks: names will not resolve on this host", "network", n.Name, "err", err)
	}
}
