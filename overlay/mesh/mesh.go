package mesh

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"

	"github.com/google/nftables"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// DefaultTable is the name of the mesh's table when Config.Table is empty.
const DefaultTable = "swarm_mesh"

// MarkBit is the packet mark bit the frontend chains set and the source NAT rules match.
const MarkBit uint32 = 0x4000

// Frontend is where connections arrive and the backends they are spread over.
type Frontend struct {
	Service  string    // service name: for Describe and rule comments only
	Proto    string    // "tcp" or "udp"; "" only with Addr set and Port 0: every protocol (a virtual IP)
	Addr     net.IP    // a virtual IP (IPv4); nil: any address local to the host (an ingress-published port)
	Port     uint16    // the frontend's port; 0 only with Addr set: every port
	Backends []Backend // empty: no rule at all for this frontend
	Bridge   string    // the interface the backends are reached through (e.g. "swbr4096")
	SNAT     net.IP    // the source address connections leave on Bridge with
}

// Backend is one task: its address and port (Port 0: keep the connection's destination port).
type Backend struct {
	IP   net.IP
	Port uint16
}

// String is IP:PORT, or IP when the port is kept.
func (b Backend) String() string {
	if b.Port == 0 {
		return b.IP.String()
	}
	return net.JoinHostPort(b.IP.String(), strconv.Itoa(int(b.Port)))
}

// Forwarder lets the mesh's connections through the host's FORWARD chain (an engine sets its policy to DROP).
// Both methods are idempotent.
type Forwarder interface {
	Allow() error
	Revoke() error
}

// Config configures a Mesh.
type Config struct {
	Table string // "" = DefaultTable
	// NetNS is the network namespace to program; 0 or negative: the current one. The Mesh keeps its own
	// duplicate of the handle: the caller may close its own.
	NetNS netns.NsHandle
	// Firewall lets the connections through FORWARD. nil: IPTables{} in the mesh's namespace (run through
	// nsenter when NetNS is set).
	Firewall Forwarder
}

// Mesh programs the routing mesh's table. Its methods may be called from several goroutines.
type Mesh struct {
	mu     sync.Mutex
	table  string
	ns     netns.NsHandle // our duplicate, or -1 for the current namespace
	fw     Forwarder
	last   map[string]bool // backend addresses of the last Apply
	closed bool
}

// New makes a Mesh. It does not touch the kernel.
func New(cfg Config) (*Mesh, error) {
	m := &Mesh{table: cfg.Table, ns: -1, fw: cfg.Firewall}
	if m.table == "" {
		m.table = DefaultTable
	}
	if err := validTable(m.table); err != nil {
		return nil, err
	}
	if cfg.NetNS > 0 {
		fd, err := unix.FcntlInt(uintptr(cfg.NetNS), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("mesh: duplicate namespace handle: %w", err)
		}
		m.ns = netns.NsHandle(fd)
	}
	if m.fw == nil {
		m.fw = IPTables{Prefix: m.nsenter()}
	}
	return m, nil
}

func validTable(name string) error {
	if len(name) > 64 || !printable(name) {
		return fmt.Errorf("mesh: bad table name %q", name)
	}
	return nil
}

// nsenter is the command prefix that runs a command in the mesh's namespace (nil: the current one).
func (m *Mesh) nsenter() []string {
	if m.ns < 0 {
		return nil
	}
	return []string{"nsenter", fmt.Sprintf("--net=/proc/%d/fd/%d", os.Getpid(), int(m.ns))}
}

// conn is a netlink connection to nftables in the mesh's namespace.
func (m *Mesh) conn() (*nftables.Conn, error) {
	if m.closed {
		return nil, errors.New("mesh: closed")
	}
	if m.ns < 0 {
		return nftables.New()
	}
	return nftables.New(nftables.WithNetNSFd(int(m.ns)))
}

// Apply makes the table hold exactly fes (see the package comment), lets the mesh's connections through the
// FORWARD chain when there is at least one frontend with backends (and leaves the forward rules as they are
// otherwise: established connections may still need them), and deletes the conntrack entries of backends that
// are gone. Invalid input is refused before anything is changed.
func (m *Mesh) Apply(fes []Frontend) error {
	plan, err := normalize(fes)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := m.conn()
	if err != nil {
		return err
	}
	prev := m.previousBackends()
	if err := send(c, m.table, plan); err != nil {
		return err
	}
	m.last = backendSet(plan)
	if len(plan) > 0 {
		if err := m.fw.Allow(); err != nil {
			return fmt.Errorf("mesh: allow forwarding: %w", err)
		}
		if err := m.routeLocalnet(plan); err != nil {
			return err
		}
	}
	return m.dropStale(prev, m.last)
}

// routeLocalnet lets the frontends' bridges route 127.0.0.0/8, so that a published port also answers on
// localhost (a connection to 127.0.0.1 is translated in the output hook and leaves through a bridge; the
// kernel drops a loopback source on any other interface otherwise). The Forwarder's guard drops what else would
// reach 127.0.0.0/8 through them. Done after Allow, so the guard is always there first.
func (m *Mesh) routeLocalnet(fes []Frontend) error {
	done := map[string]bool{}
	for _, fe := range fes {
		if fe.Bridge == "" || done[fe.Bridge] {
			continue
		}
		done[fe.Bridge] = true
		path := "/proc/sys/net/ipv4/conf/" + fe.Bridge + "/route_localnet"
		err := m.inNamespace(func() error { return os.WriteFile(path, []byte("1"), 0o644) })
		if err != nil && !errors.Is(err, fs.ErrNotExist) { // a bridge that is going away needs nothing
			return fmt.Errorf("mesh: let %s route localhost: %w", fe.Bridge, err)
		}
	}
	return nil
}

// inNamespace runs f on a thread in the mesh's namespace (files under /proc/sys/net are the namespace's of the
// thread that opens them).
func (m *Mesh) inNamespace(f func() error) error {
	if m.ns < 0 {
		return f()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return err
	}
	defer orig.Close()
	if err := netns.Set(m.ns); err != nil {
		return err
	}
	defer func() {
		if netns.Set(orig) != nil {
			// A thread left in another namespace must not run other goroutines: keep it locked, so it ends
			// with this goroutine.
			runtime.LockOSThread()
		}
	}()
	return f()
}

// batchMu serializes the building of batches: the nftables package numbers anonymous sets with a global
// counter that only the Conn's own lock guards.
var batchMu sync.Mutex

// send programs the table with fes in one batch.
func send(c *nftables.Conn, table string, fes []Frontend) error {
	batchMu.Lock()
	err := program(c, table, fes)
	batchMu.Unlock()
	if err != nil {
		return err
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("mesh: program table %s: %w", table, err)
	}
	return nil
}

// previousBackends is the backend addresses of the last Apply: those the kernel's table holds, and those this
// Mesh remembers.
func (m *Mesh) previousBackends() map[string]bool {
	prev := map[string]bool{}
	for ip := range m.last {
		prev[ip] = true
	}
	if fes, _, err := m.read(); err == nil {
		for ip := range backendSet(fes) {
			prev[ip] = true
		}
	}
	return prev
}

// Flush deletes the table (absent is fine) and revokes the forward rules.
func (m *Mesh) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := m.conn()
	if err != nil {
		return err
	}
	t := &nftables.Table{Name: m.table, Family: nftables.TableFamilyIPv4}
	c.AddTable(t) // so that the deletion cannot fail for an absent table
	c.DelTable(t)
	if err := c.Flush(); err != nil {
		return fmt.Errorf("mesh: delete table %s: %w", m.table, err)
	}
	if err := m.fw.Revoke(); err != nil {
		return fmt.Errorf("mesh: revoke forwarding: %w", err)
	}
	return nil
}

// Close releases the Mesh's namespace handle. It leaves the kernel as it is (a restarted Mesh takes over the
// table); call Flush first to remove everything.
func (m *Mesh) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	if m.ns >= 0 {
		return m.ns.Close()
	}
	return nil
}
