package cluster

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
)

// Engine is one Docker engine of the cluster, made of parts that each keep their own lock and invariants:
//   - conn: how calls reach it, and what it said it is (conn.go, spec.go);
//   - health: whether it can be reached (health.go);
//   - store: the cache of its containers, kept current by calls, events and refreshes (store*.go, rereads.go,
//     orphans.go);
//   - objects: the cache of its images, networks and volumes (objects.go);
//   - views: what is derived from the others, built on use (views.go);
//   - kept: inspect answers given again while nothing changed (kept.go);
//   - ticker: the periodic refresh (refresher.go);
//   - life: what runs the engine: validate, sync, follow its events, probe (engine_life.go).
//
// Lock order: the ticker's (held through a refresh) and the views' come before the other parts'; a part that
// signals a change under its own lock takes only the leaf lock of the placer's dirty set. All exported methods
// are safe for concurrent use; what they hand out is never changed afterwards.
type Engine struct {
	set     *shared
	conn    *conn
	health  *health
	store   *store
	objects *objects
	views   *views
	kept    *keptInspects
	ticker  *refresher
	life    life
	updated atomic.Int64 // UnixNano of the last validation or container list taken in
}

func newEngine(addr string, set *shared) (*Engine, error) {
	e := &Engine{set: set, kept: &keptInspects{set: set}}
	e.life.e = e
	e.health = &health{retry: set.failureRetry, life: func() context.Context { return e.lifeCtx(context.Background()) },
		moved: func() { set.dirty.mark(e) }, told: e.healthTold}
	conn, err := newConn(addr, set, e.health)
	if err != nil {
		return nil, err
	}
	e.conn = conn
	e.health.ping = func(ctx context.Context) error { _, err := conn.client.Ping(ctx); return err }
	e.store = newStore(e)
	e.objects = &objects{conn: conn, moved: func() { set.dirty.mark(e) }}
	e.views = &views{e: e}
	e.ticker = &refresher{min: set.refreshMin, max: set.refreshMax, refresh: e.periodic}
	return e, nil
}

// Addr is the host:port the engine was discovered at.
func (e *Engine) Addr() string { return e.conn.addr }

// IP is the engine's host part, shown where a container publishes on all interfaces.
func (e *Engine) IP() string { return e.conn.ip }

// Scheme is "http" or "https".
func (e *Engine) Scheme() string { return e.conn.scheme }

// Name is the engine's name (docker info .Name, its hostname); the address while Pending.
func (e *Engine) Name() string { return e.conn.name() }

// ID is the engine's ID (docker info .ID); empty while Pending.
func (e *Engine) ID() string { return e.conn.id() }

// State is the engine's current state.
func (e *Engine) State() State { return e.health.State() }

// Healthy reports whether calls may be sent to the engine.
func (e *Engine) Healthy() bool { return e.State() == StateHealthy }

// LastError is the last connection error seen, empty when the last call succeeded.
func (e *Engine) LastError() string { return e.health.snapshot().lastErr }

// Version is the API version a client speaking want is served at by this engine: the older of the two ("":
// the engine's own).
func (e *Engine) Version(want string) string { return e.conn.negotiated(want) }

// Dial opens a raw connection to the engine (TLS when configured), for streams that are taken over.
func (e *Engine) Dial(ctx context.Context) (net.Conn, error) { return e.conn.dial(ctx) }

// Containers returns the cached containers (all states).
func (e *Engine) Containers() []*Container { return e.store.all() }

// ContainersGen counts the changes of the engine's cached containers: while it stays the same, Containers
// returns the same containers (read it first to cache what Containers returns).
func (e *Engine) ContainersGen() uint64 { return e.store.gen.Load() }

// Images returns the cached images.
func (e *Engine) Images() []image.Summary { return e.objects.Images() }

// Networks returns the cached networks.
func (e *Engine) Networks() []network.Inspect { return e.objects.Networks() }

// Volumes returns the cached volumes.
func (e *Engine) Volumes() []*volume.Volume { return e.objects.Volumes() }

// ncpu is the engine's CPU count (0 before validation), which turns CpuShares into reserved CPUs.
func (e *Engine) ncpu() int64 {
	if s := e.conn.spec.Load(); s != nil {
		return int64(s.info.NCPU)
	}
	return 0
}

// touch records that the engine's state was just read from it (/info's UpdatedAt).
func (e *Engine) touch() { e.updated.Store(time.Now().UnixNano()) }

// unixNanoTime is the time of a UnixNano count; 0 is the zero time (never).
func unixNanoTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// lifeCtx is the engine's own context (see life.context).
func (e *Engine) lifeCtx(req context.Context) context.Context { return e.life.context(req) }

// removeContainer removes a container with its anonymous volumes, whatever its state (orphans, stale copies).
func (e *Engine) removeContainer(ctx context.Context, id string) error {
	err := e.conn.client.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	return e.conn.typed(err)
}

// Send makes one call and returns the engine's answer whatever its status, its body unread (the caller closes
// it); the cache is kept right as c.Changes say. A failure to reach the engine is a *NodeDownError.
func (e *Engine) Send(ctx context.Context, c Call) (*http.Response, error) {
	req, err := e.conn.request(ctx, c)
	if err != nil {
		return nil, err
	}
	resp, err := e.RoundTripper(c.Changes).RoundTrip(req)
	if err != nil {
		return nil, e.conn.down(err)
	}
	return resp, nil
}

// Do makes one call and reads its answer: a 2xx answer is decoded into out (nil: discarded; a *[]byte or
// *bytes.Buffer receives the body as it came), any other is an *EngineError.
func (e *Engine) Do(ctx context.Context, c Call, out any) error {
	resp, err := e.Send(ctx, c)
	if err != nil {
		return err
	}
	return e.conn.readAnswer(resp, out)
}

// Open makes one call whose answer is a stream: a 2xx answer's body is returned for the caller to read and
// close, any other is an *EngineError.
func (e *Engine) Open(ctx context.Context, c Call) (io.ReadCloser, error) {
	resp, err := e.Send(ctx, c)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, e.conn.answerError(resp)
	}
	return resp.Body, nil
}
