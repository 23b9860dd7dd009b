package cluster

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// State is an engine's place in its life cycle: Pending until first validated, then Healthy or Unhealthy,
// Disconnected once discovery drops it.
type State int

const (
	StatePending State = iota
	StateHealthy
	StateUnhealthy
	StateDisconnected
)

func (s State) String() string {
	return [...]string{"Pending", "Healthy", "Unhealthy", "Disconnected"}[s]
}

// engineSettings are the pool-wide knobs and resources every engine shares.
type engineSettings struct {
	failureRetry int
	refreshMin   time.Duration
	refreshMax   time.Duration
	tls          *tls.Config // nil: plain TCP
	overcommit   float64
	hooks        engineHooks
	transport    *http.Transport // one pool for every engine's calls: idle connections are capped cluster-wide
	streams      *http.Transport // the engines' event streams, each on a connection of its own (streamTransport)
	engines      atomic.Int64    // how many engines the cluster has
	connecting   chan struct{}   // bounds how many engines validate and sync at once
	identities   atomic.Uint64   // bumped when an engine's name or ID changes (the sorted engine list is cached)
	dirty        dirtyEngines    // engines whose scheduler view changed (schedNodes patches its list)
	changes      atomic.Uint64   // bumped when any engine's containers change (the sorted container list is cached)
	keptBytes    atomic.Int64    // size of the inspect answers kept by all engines (kept_inspects.go)
}

// Connection pooling: one transport for all engines keeps at most maxIdle idle connections in total, a few per
// engine for bursts, for longer than the periodic refresh's interval (idleFor). The cap is what a process's
// descriptors allow besides one event stream per engine: at 10,000 engines a cap of 16,384 exhausted the
// common 20,000-descriptor limit and the manager could no longer accept clients.
const (
	maxIdle        = 4096
	idleFor        = 90 * time.Second
	maxIdlePerHost = 16
	maxConnecting  = 128
)

// dialer probes idle connections often, so an engine that vanishes without closing them (host cut off, link
// down) breaks its event stream within seconds rather than after the kernel's two hours.
var dialer = &net.Dialer{Timeout: 10 * time.Second,
	KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 3 * time.Second, Interval: time.Second, Count: 3}}

func newTransport(tlsCfg *tls.Config) *http.Transport {
	return &http.Transport{
		DialContext:         dialer.DialContext,
		TLSClientConfig:     tlsCfg,
		MaxIdleConns:        maxIdle,
		MaxIdleConnsPerHost: maxIdlePerHost,
		IdleConnTimeout:     idleFor,
		TLSHandshakeTimeout: 10 * time.Second,
		DisableCompression:  true, // engines answer uncompressed: asking for gzip only costs a header per call
	}
}

// newStreamTransport is for the engines' event streams while the calls' pool can keep a connection per engine
// (streamTransport): a stream on the calls' pool takes the idle connection the calls before it left (the
// start-up sync's), and every engine's first call after a start or a reconnection would pay a new connection
// (a TLS handshake with TLS). A stream's connection is closed when the stream ends, so this pool holds none.
func newStreamTransport(tlsCfg *tls.Config) *http.Transport {
	return &http.Transport{DialContext: dialer.DialContext, TLSClientConfig: tlsCfg, DisableKeepAlives: true,
		TLSHandshakeTimeout: 10 * time.Second}
}

// streamTransport is what the engine's event stream is read through. While the pool can keep an idle
// connection for every engine, the stream dials its own, and the start-up sync's connection stays for the next
// call. With more engines than that, a kept connection is evicted by the next call to another engine that has
// none (the pool is full), so the stream takes the sync's connection as before: at 10,000 engines, runs that
// kept them spent 1.00–1.14 ms of manager CPU per create+start against 0.80 ms (BENCHMARKS.md).
func (e *Engine) streamTransport() http.RoundTripper {
	if e.set.engines.Load() <= maxIdle {
		return e.set.streams
	}
	return e.set.transport
}

// engineHooks tell the cluster what happened to an engine; they run without the engine's lock held.
type engineHooks struct {
	event     func(e *Engine, ev eventMessage) // an engine event or a swarm event about the engine
	connected func(e *Engine)                  // first validation succeeded
}

// Engine is one Docker engine: its connection, health and a cache of its objects. All exported methods are safe
// for concurrent use; the cached objects it hands out are never modified afterwards (copy on write).
type Engine struct {
	addr   string
	ip     string
	set    *engineSettings
	client *client.Client
	http   *http.Client
	scheme string

	mu         sync.RWMutex
	id, name   string
	state      State
	failures   int
	lastErr    string
	updatedAt  time.Time
	info       system.Info
	version    types.Version
	labels     map[string]string
	containers map[string]*Container // by full ID
	images     []image.Summary
	networks   []network.Inspect
	volumes    []*volume.Volume
	listSums   listSums
	changes    uint64                     // calls of changed(): the cache was changed since a moment if this moved
	listed     uint64                     // changes when the last container list was taken in (with listSums.containers)
	execs      map[string]string          // exec ID -> container ID
	removed    map[string]time.Time       // containers removed since the last full refresh began
	doomed     map[string]map[string]bool // swarm ID of a failed create -> IDs confirmed since (orphans.go)
	inflight   map[string]int             // swarm ID -> creates in flight on this engine
	dirty      map[string]*dirtyMark      // container ID -> why a re-read is pending
	draining   bool                       // a goroutine refreshes the dirty containers
	verifying  bool                       // a ping checks whether a failed call means the engine is unreachable
	refreshing map[string]time.Time       // container ID -> start of a single refresh under way
	promised   map[string]int             // container ID -> re-reads callers promised once their call is answered
	node       nodeCache                  // scheduler view, rebuilt when containers change
	index      *lookups                   // containers by name and short ID, rebuilt on use after a change (nil: stale)
	tally      *tally                     // /info's per-engine sums, rebuilt on use after a change (nil: stale)
	status     *statusBlock               // /info's lines for the engine, rebuilt when what they show changed
	encoded    *listEntries               // the containers' list entries as of a changes count, re-encoded on use where changed
	kept       keptInspects               // inspect answers served again while nothing changed (kept_inspects.go)

	timer   atomic.Pointer[time.Timer] // the periodic refresh (startRefreshTimer); nil until connected
	ticking sync.Mutex                 // held by the refresh under way
	ticks   int                        // periodic refreshes so far (under ticking; see sideListsEvery)
	nudged  atomic.Bool                // a refresh was asked for and has not begun
	ctx     context.Context            // the engine's life (nil in tests that never run it); ends when it leaves
	cancel  context.CancelFunc
	done    chan struct{}
}

func newEngine(addr string, set *engineSettings) (*Engine, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if set.tls != nil {
		scheme = "https"
	}
	typed := &http.Client{Transport: set.transport}
	cli, err := client.NewClientWithOpts(client.WithHost("tcp://"+addr), client.WithHTTPClient(typed),
		client.WithScheme(scheme), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, err
	}
	// The Docker client wraps the transport of the HTTP client it is given in OpenTelemetry instrumentation,
	// which nothing here exports and which cost a tenth of the manager's CPU under a thousand creates a second.
	typed.Transport = set.transport
	return &Engine{
		addr: addr, ip: host, set: set, client: cli, http: &http.Client{Transport: set.transport}, scheme: scheme,
		containers: map[string]*Container{}, execs: map[string]string{}, labels: map[string]string{},
		done: make(chan struct{}),
	}, nil
}

// Addr is the host:port the engine was discovered at.
func (e *Engine) Addr() string { return e.addr }

// IP is the engine's host part, used where a container publishes on all interfaces.
func (e *Engine) IP() string { return e.ip }

// Scheme is "http" or "https".
func (e *Engine) Scheme() string { return e.scheme }

// HTTPClient is the engine's pooled client, for forwarding requests.
func (e *Engine) HTTPClient() *http.Client { return e.http }

// Client is the typed Docker client of the engine.
func (e *Engine) Client() *client.Client { return e.client }

// Dial opens a raw connection (TLS when configured) for hijacked streams.
func (e *Engine) Dial(ctx context.Context) (net.Conn, error) {
	if e.set.tls == nil {
		return dialer.DialContext(ctx, "tcp", e.addr)
	}
	td := &tls.Dialer{NetDialer: dialer, Config: e.set.tls}
	return td.DialContext(ctx, "tcp", e.addr)
}

// ID is the engine's ID (docker info .ID); empty while Pending.
func (e *Engine) ID() string { e.mu.RLock(); defer e.mu.RUnlock(); return e.id }

// Name is the engine's name (docker info .Name, its hostname); the address while Pending.
func (e *Engine) Name() string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.name == "" {
		return e.addr
	}
	return e.name
}

// State is the engine's current state.
func (e *Engine) State() State { e.mu.RLock(); defer e.mu.RUnlock(); return e.state }

// Healthy reports whether calls may be sent to the engine.
func (e *Engine) Healthy() bool { return e.State() == StateHealthy }

// APIVersion is the newest API version the engine supports.
func (e *Engine) APIVersion() string { e.mu.RLock(); defer e.mu.RUnlock(); return e.version.APIVersion }

// LastError is the last connection error seen, empty when the last call succeeded.
func (e *Engine) LastError() string { e.mu.RLock(); defer e.mu.RUnlock(); return e.lastErr }

// healthIndicator is 0 for an unusable engine, else 100 minus a share per recent failure (the original's formula).
func (e *Engine) healthIndicator() int64 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.state != StateHealthy || e.failures >= e.set.failureRetry {
		return 0
	}
	return int64(100 - e.failures*100/e.set.failureRetry)
}

func (e *Engine) ncpu() int64 { e.mu.RLock(); defer e.mu.RUnlock(); return int64(e.info.NCPU) }
