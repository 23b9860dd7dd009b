package cluster

import (
	"context"
	"crypto/tls"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/events"

	"swarm/internal/metrics"
	"swarm/lease"
	"swarm/scheduler"
)

// Options configure a Cluster.
type Options struct {
	Strategy     string   // for /info
	Filters      []string // for /info
	Overcommit   float64
	CreateRetry  int
	FailureRetry int
	RefreshMin   time.Duration
	RefreshMax   time.Duration
	TLS          *tls.Config // client TLS towards engines; nil for plain TCP
	Experimental bool
	Debug        bool
	// RefreshOnNodeFilter re-reads the engines a container list's node= filter names before listing;
	// NameRefreshFilter, when set, re-reads every engine before a list whose name= filter is exactly it.
	RefreshOnNodeFilter bool
	NameRefreshFilter   string
	Metrics             *metrics.Metrics
	Logger              *slog.Logger
	Leases              LeaseStore // fixed container addresses (com.docker.swarm.pipework); nil without Consul
}

// Cluster is the set of engines discovery reports, with their caches, and what the API asks of them: container
// lookup, lists, creation through the scheduler, inspects, execs, /info and the merged event stream. Each job
// is a part of its own: the engine set (pool.go), lookups (lookup.go), placements (placer.go), creates
// (create.go), rescheduling (reschedule.go), the lease sweep (leases.go) and the event hub (events.go).
type Cluster struct {
	log     *slog.Logger
	cfg     Options
	set     *shared
	pool    *pool
	hints   *idHints
	placer  *placer
	creator *creator
	events  *eventHub
	resched *rescheduler
	lister  *lister
	infos   *infos
	primary atomic.Bool // this manager does the primary's work (SetPrimary)
}

// New builds a cluster that places containers with sched; engines are added by SetEngines, and their
// goroutines live until ctx ends or they leave. New itself starts no goroutines.
func New(ctx context.Context, cfg Options, sched *scheduler.Scheduler) *Cluster {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.FailureRetry <= 0 {
		cfg.FailureRetry = 3
	}
	set := newShared(cfg)
	p := &pool{set: set, log: cfg.Logger, ctx: ctx, engines: map[string]*Engine{}, ids: map[string]string{}}
	c := &Cluster{log: cfg.Logger, cfg: cfg, set: set, pool: p, hints: &idHints{}, events: newEventHub()}
	c.placer = &placer{sched: sched, pool: p}
	c.creator = &creator{ctx: ctx, pool: p, placer: c.placer, hints: c.hints, leases: cfg.Leases,
		retries: cfg.CreateRetry, metrics: cfg.Metrics, log: cfg.Logger, pending: map[string]bool{}}
	c.resched = newRescheduler(c)
	c.lister = &lister{pool: p, find: c.Container,
		refresh: refreshFlags{onNodeFilter: cfg.RefreshOnNodeFilter, nameFilter: cfg.NameRefreshFilter}}
	c.infos = &infos{cfg: cfg, pool: p, listeners: c.events.Listeners}
	set.hooks.event = c.engineEvent
	set.hooks.connected = p.connected
	return c
}

// SetEngines makes the engine set equal to addrs: new addresses are connected, missing ones disconnected.
func (c *Cluster) SetEngines(addrs []string) {
	for _, e := range c.pool.update(addrs) {
		c.log.Info("engine removed from discovery", "addr", e.Addr(), "name", e.Name())
		if c.primary.Load() {
			c.resched.adoptOrphans(e)
		}
		e.life.stop()
	}
}

// Close disconnects every engine.
func (c *Cluster) Close() { c.SetEngines(nil) }

// Engines returns every engine, sorted by name then address. The slice is shared: do not modify it.
func (c *Cluster) Engines() []*Engine { return c.pool.all() }

// Identities moves whenever Engines would return another list: an engine came or went, or changed name or ID.
func (c *Cluster) Identities() uint64 { return c.set.identities.Load() }

// CreateContainer schedules and creates a container. The name is unique cluster-wide (409 otherwise), swarm's
// expressions are validated (400), the container gets a swarm ID, and the image is pulled on the chosen node
// when that node lacks it. A failed create leaves no container and no reservation behind.
func (c *Cluster) CreateContainer(ctx context.Context, req CreateRequest) (*CreateResponse, error) {
	return c.creator.create(ctx, req)
}

// Subscribe returns past events since a time (none for the zero time) and a channel of new ones; see
// eventHub.Subscribe.
func (c *Cluster) Subscribe(since time.Time) ([]Event, <-chan Event, func()) {
	return c.events.Subscribe(since)
}

// Publish adds an event of swarm's own (a service, node or task changed) to the merged stream.
func (c *Cluster) Publish(ev Event) { c.events.publish(ev) }

// SetPrimary turns the primary's duties (rescheduling, the lease sweep) on or off.
func (c *Cluster) SetPrimary(primary bool) { c.primary.Store(primary) }

// StateCounts counts engines and containers by state, for the metrics.
func (c *Cluster) StateCounts() (engines, containers map[string]int) { return c.pool.stateCounts() }

// engineEvent passes an engine's event to the hub, logs changes of health, and gives back the fixed address of
// a destroyed container.
func (c *Cluster) engineEvent(e *Engine, ev Event) {
	c.events.publish(ev)
	switch {
	case ev.Action == "engine_disconnect" && e.State() == StateUnhealthy: // not one that left discovery
		c.log.Warn("engine unhealthy", "name", e.Name(), "addr", e.Addr(), "failures", c.set.failureRetry, "err", e.LastError())
	case ev.Action == "engine_reconnect":
		c.log.Info("engine healthy again", "name", e.Name(), "addr", e.Addr())
	case ev.Type == events.ContainerEventType && ev.Action == events.ActionDestroy && ev.Actor.Attributes[lease.Label] != "":
		go c.releaseAddress(ev.Actor)
	}
}

// releaseAddress gives back the fixed address of a destroyed container, unless another copy of it (same swarm
// ID, e.g. rescheduled) still runs somewhere.
func (c *Cluster) releaseAddress(a events.Actor) {
	swarmID := a.Attributes[LabelSwarmID]
	r, err := lease.ParseLabel(a.Attributes[lease.Label])
	if err != nil || swarmID == "" || c.cfg.Leases == nil || r.IP() == nil {
		return
	}
	for _, x := range c.Containers() {
		if x.SwarmID() == swarmID && x.ID != a.ID {
			return
		}
	}
	if err := c.cfg.Leases.Release(r.IP(), swarmID); err != nil {
		c.log.Warn("releasing a destroyed container's address", "ip", r.IP(), "container", a.ID, "err", err)
		return
	}
	c.log.Info("address released", "ip", r.IP(), "container", a.Attributes["name"])
}
