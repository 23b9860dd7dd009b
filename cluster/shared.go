package cluster

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// shared is what every engine of one cluster shares: the settings, the connection pools, the budget of kept
// inspect answers, and the signals by which an engine tells the cluster's caches that it moved. Set once by
// New, but for the atomics and the dirty set.
type shared struct {
	failureRetry int
	refreshMin   time.Duration
	refreshMax   time.Duration
	tls          *tls.Config     // nil: plain TCP
	transport    *http.Transport // one pool for every engine's calls: idle connections are capped cluster-wide
	streams      *http.Transport // the engines' event streams, each on a connection of its own (streamTransport)
	engines      atomic.Int64    // how many engines the cluster has
	connecting   chan struct{}   // bounds how many engines validate and sync at once
	keptBytes    atomic.Int64    // size of the inspect answers kept by all engines (kept.go)
	identities   atomic.Uint64   // moves when an engine comes, goes, or changes name or ID (the sorted engine list)
	containers   atomic.Uint64   // moves when any engine's containers change (the sorted container list)
	dirty        dirtyEngines    // engines whose scheduler view may have changed (the placer patches its list)
	metas        nodeMetas       // swarm mode's availability, labels and role of each node (SetNodeMeta)
	hooks        engineHooks
}

// engineHooks tell the cluster what happened to an engine; they run without any of the engine's locks held.
type engineHooks struct {
	event     func(e *Engine, ev Event) // an engine event, or one of swarm's own about the engine
	connected func(e *Engine)           // first validation succeeded
}

// Connection pooling: one transport for all engines keeps at most maxIdle idle connections in total, a few per
// engine for bursts, for longer than the periodic refresh's interval (idleFor). The cap is what a process's
// descriptors allow besides one event stream per engine (the common limit is 20,000 descriptors).
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

func newShared(o Options) *shared {
	return &shared{failureRetry: o.FailureRetry, refreshMin: o.RefreshMin, refreshMax: o.RefreshMax, tls: o.TLS,
		transport: newTransport(o.TLS), streams: newStreamTransport(o.TLS), connecting: make(chan struct{}, maxConnecting)}
}

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
// (streamTransport). A stream's connection is closed when the stream ends, so this pool holds none.
func newStreamTransport(tlsCfg *tls.Config) *http.Transport {
	return &http.Transport{DialContext: dialer.DialContext, TLSClientConfig: tlsCfg, DisableKeepAlives: true,
		TLSHandshakeTimeout: 10 * time.Second}
}

// streamTransport is what an engine's event stream is read through. While the calls' pool can keep an idle
// connection for every engine, the stream dials its own, so the connection the start-up sync used stays for
// the engine's next call (which would otherwise pay a new connection, a TLS handshake with TLS). With more
// engines than that, a kept connection would only be evicted by the next call to another engine, so the stream
// takes the sync's connection as a call would (BENCHMARKS.md compares the two).
func (s *shared) streamTransport() http.RoundTripper {
	if s.engines.Load() <= maxIdle {
		return s.streams
	}
	return s.transport
}

// dirtyEngines collects the engines whose scheduler view may have changed since the placer last looked.
type dirtyEngines struct {
	mu  sync.Mutex
	set map[*Engine]bool
}

func (d *dirtyEngines) mark(e *Engine) {
	d.mu.Lock()
	if d.set == nil {
		d.set = map[*Engine]bool{}
	}
	d.set[e] = true
	d.mu.Unlock()
}

func (d *dirtyEngines) take() map[*Engine]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.set
	d.set = nil
	return s
}
