package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"github.com/docker/docker/api/types/events"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/errdefs"

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
	Metrics      *metrics.Metrics
	Logger       *slog.Logger
	Leases       LeaseStore // fixed container addresses (com.docker.swarm.pipework); nil without Consul
}

// Cluster is the set of engines discovery reports, with their caches, the scheduler and the event hub.
type Cluster struct {
	log    *slog.Logger
	set    *engineSettings
	sched  *scheduler.Scheduler
	events *eventHub
	cfg    Options

	mu      sync.RWMutex
	engines map[string]*Engine // by address
	sorted  *sortedEngines     // Engines' answer, kept while the set and every identity stay the same
	ids     map[string]string  // engine ID -> address of the first engine seen with it (duplicate-ID warning)
	ctx     context.Context    // parent of every engine's goroutines

	createMu sync.Mutex
	pending  map[string]bool // names of containers being created
	inCreate map[string]int  // swarm IDs of creates under way (their address is claimed before the container exists)

	hints    idHints  // full container ID -> the engine it was last found on (a hint, always checked)
	nodes    nodeList // the scheduler's view of the engines (schedNodes)
	infoRuns infoRuns // /info's engine blocks, encoded
	newest   atomic.Pointer[sortedContainers]

	resched *rescheduler
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
	set := &engineSettings{failureRetry: cfg.FailureRetry, refreshMin: cfg.RefreshMin, refreshMax: cfg.RefreshMax,
		tls: cfg.TLS, overcommit: cfg.Overcommit, transport: newTransport(cfg.TLS),
		streams: newStreamTransport(cfg.TLS), connecting: make(chan struct{}, maxConnecting)}
	c := &Cluster{log: cfg.Logger, set: set, sched: sched, events: newEventHub(), cfg: cfg,
		engines: map[string]*Engine{}, ids: map[string]string{}, ctx: ctx, pending: map[string]bool{}, resched: newRescheduler()}
	set.hooks.event = func(e *Engine, ev Event) {
		c.events.publish(ev)
		c.logHealth(e, ev)
		if ev.Type == events.ContainerEventType && ev.Action == events.ActionDestroy && ev.Actor.Attributes[lease.Label] != "" {
			go c.releaseAddress(ev.Actor)
		}
	}
	set.hooks.connected = c.engineConnected
	return c
}

// SetEngines makes the engine set equal to addrs: new addresses are connected, missing ones disconnected.
func (c *Cluster) SetEngines(addrs []string) {
	want := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		want[a] = true
	}
	var gone []*Engine
	c.mu.Lock()
	for addr, e := range c.engines {
		if !want[addr] {
			gone = append(gone, e)
			delete(c.engines, addr)
			c.sorted = nil
		}
	}
	c.set.engines.Store(int64(len(want))) // before any new engine opens its stream (streamTransport)
	for addr := range want {
		if c.engines[addr] != nil {
			continue
		}
		e, err := newEngine(addr, c.set)
		if err != nil {
			c.log.Warn("ignoring engine address", "addr", addr, "err", err)
			continue
		}
		ectx, cancel := context.WithCancel(c.ctx)
		e.ctx, e.cancel = ectx, cancel
		c.engines[addr] = e
		c.sorted = nil
		c.log.Info("engine added", "addr", addr)
		go e.run(ectx)
	}
	c.set.engines.Store(int64(len(c.engines))) // without the addresses that were ignored
	c.mu.Unlock()
	for _, e := range gone {
		c.log.Info("engine removed from discovery", "addr", e.addr, "name", e.Name())
		if c.resched.active.Load() {
			c.adoptOrphans(e)
		}
		e.stop()
	}
}

// logHealth tells the operator when an engine's health changes, with the failure that decided it.
func (c *Cluster) logHealth(e *Engine, ev Event) {
	switch {
	case ev.Action == "engine_disconnect" && e.State() == StateUnhealthy: // not one that left discovery
		c.log.Warn("engine unhealthy", "name", e.Name(), "addr", e.addr, "failures", c.set.failureRetry, "err", e.LastError())
	case ev.Action == "engine_reconnect":
		c.log.Info("engine healthy again", "name", e.Name(), "addr", e.addr)
	}
}

// engineConnected warns about engines sharing an ID (cloned VMs): both keep working, keyed by address.
func (c *Cluster) engineConnected(e *Engine) {
	id := e.ID()
	c.log.Info("engine connected", "name", e.Name(), "addr", e.addr, "id", id)
	c.mu.Lock()
	other, seen := c.ids[id]
	shared := seen && other != e.addr && c.engines[other] != nil && c.engines[other].ID() == id
	if !shared {
		c.ids[id] = e.addr
	}
	c.mu.Unlock()
	if shared && id != "" {
		c.log.Warn("two engines share one engine ID (cloned machine?); both are used, told apart by address",
			"id", id, "addr", e.addr, "other", other)
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

// Engines returns every engine, sorted by name then address. The slice is shared: do not modify it.
func (c *Cluster) Engines() []*Engine {
	gen := c.set.identities.Load()
	c.mu.RLock()
	s := c.sorted
	c.mu.RUnlock()
	if s != nil && s.gen == gen {
		return s.list
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	type named struct {
		e    *Engine
		name string
	}
	byName := make([]named, 0, len(c.engines))
	for _, e := range c.engines {
		byName = append(byName, named{e, e.Name()}) // one lock per engine, not one per comparison
	}
	sort.Slice(byName, func(i, j int) bool {
		if byName[i].name != byName[j].name {
			return byName[i].name < byName[j].name
		}
		return byName[i].e.addr < byName[j].e.addr
	})
	out := make([]*Engine, len(byName))
	for i, n := range byName {
		out[i] = n.e
	}
	c.sorted = &sortedEngines{gen: gen, list: out}
	return out
}

// sortedEngines is Engines' cached answer for one generation of engine identities. Callers share the slice:
// they must not modify it.
type sortedEngines struct {
	gen  uint64
	list []*Engine
}

// Close disconnects every engine.
func (c *Cluster) Close() { c.SetEngines(nil) }

// Containers returns every cached container of every engine.
func (c *Cluster) Containers() []*Container {
	var out []*Container
	for _, e := range c.Engines() {
		out = append(out, e.Containers()...)
	}
	return out
}

// Engine finds an engine by name, ID or address.
func (c *Cluster) Engine(ref string) *Engine {
	for _, e := range c.Engines() {
		if e.Name() == ref || e.ID() == ref || e.addr == ref {
			return e
		}
	}
	return nil
}

// Container finds a container the way the original did: full or short ID, swarm ID, name (with or without the
// leading slash, or prefixed by its engine's name or ID), then a unique prefix of an ID or a swarm ID.
func (c *Cluster) Container(ref string) (*Container, error) {
	if ref == "" {
		return nil, errdefs.InvalidParameter(fmt.Errorf("no container name or ID given"))
	}
	if x := c.exactContainer(ref); x != nil {
		return x, nil
	}
	all := c.Containers()
	name := strings.TrimPrefix(ref, "/")
	for _, match := range []func(*Container) bool{
		func(x *Container) bool { return x.ID == ref || x.SwarmID() == ref },
		func(x *Container) bool { return x.Name() == name },
		func(x *Container) bool {
			node, n, ok := strings.Cut(name, "/")
			return ok && x.Name() == n && (x.Engine.Name() == node || x.Engine.ID() == node)
		},
		func(x *Container) bool { return strings.HasPrefix(x.ID, ref) },
		func(x *Container) bool { return x.SwarmID() != "" && strings.HasPrefix(x.SwarmID(), ref) },
	} {
		var found []*Container
		for _, x := range all {
			if match(x) {
				found = append(found, x)
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		default:
			return nil, errdefs.InvalidParameter(fmt.Errorf("container name or ID %q is ambiguous: it matches %d containers; use the ID or node/name", ref, len(found)))
		}
	}
	return nil, errdefs.NotFound(fmt.Errorf("No such container: %s", ref))
}

// exactContainer is Container's fast path through the engines' indexes: a full container ID, else a name held
// by exactly one container, else a 12-character short ID that begins exactly one container's ID. A ref that
// could be a swarm ID (64 hex digits) is left to the full search, where a swarm ID outranks a name. Nil means
// the full search decides.
func (c *Cluster) exactContainer(ref string) *Container {
	if e := c.hints.get(ref); e != nil && c.member(e) {
		if x := e.byID(ref); x != nil {
			return x
		}
	}
	engines := c.Engines()
	for _, e := range engines {
		if x := e.byID(ref); x != nil {
			c.hints.put(ref, e)
			return x
		}
	}
	if len(ref) == 64 && isHex(ref) {
		return nil
	}
	name := strings.TrimPrefix(ref, "/")
	var found *Container
	for _, e := range engines {
		if x := e.byName(name); x != nil {
			if found != nil {
				return nil
			}
			found = x
		}
	}
	if found != nil || len(ref) != 12 || !isHex(ref) {
		return found
	}
	for _, e := range engines { // a short ID as `docker ps` prints it: the one container whose ID begins with it
		x, ambiguous := e.byShortID(ref)
		if ambiguous || (x != nil && found != nil) {
			return nil
		}
		if x != nil {
			found = x
		}
	}
	return found
}

// member tells whether e is still the cluster's engine at its address (not one that left or was replaced).
func (c *Cluster) member(e *Engine) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.engines[e.addr] == e
}

func isHex(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// ExecEngine finds the engine running an exec instance: from what this manager recorded at exec create, else
// by asking the healthy engines (an exec created through another manager, or before a restart).
func (c *Cluster) ExecEngine(ctx context.Context, execID string) (*Engine, error) {
	engines := c.Engines()
	for _, e := range engines {
		e.mu.RLock()
		_, ok := e.execs[execID]
		e.mu.RUnlock()
		if ok {
			return e, nil
		}
	}
	found := make(chan *Engine, len(engines))
	var wg sync.WaitGroup
	for _, e := range engines {
		if !e.Healthy() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var in struct{ ContainerID string }
			if _, err := e.Do(ctx, "GET", "", "/exec/"+execID+"/json", nil, nil, nil, &in); err == nil {
				e.mu.Lock()
				e.execs[execID] = in.ContainerID
				e.mu.Unlock()
				found <- e
			}
		}()
	}
	wg.Wait()
	close(found)
	if e, ok := <-found; ok {
		return e, nil
	}
	return nil, errdefs.NotFound(fmt.Errorf("No such exec instance: %s", execID))
}

// RecordExec remembers which container (and so which engine) an exec instance belongs to.
func (c *Cluster) RecordExec(ct *Container, execID string) {
	ct.Engine.mu.Lock()
	ct.Engine.execs[execID] = ct.ID
	ct.Engine.mu.Unlock()
	ct.Engine.forgetInspect(ct.ID) // its inspect lists the exec
}

// Refresh re-reads one container after a call that changed it.
func (c *Cluster) Refresh(ctx context.Context, ct *Container) {
	ct.Engine.refreshContainer(ctx, ct.ID)
}

// Expect is for a call that is about to change ct through its engine and answers promptly (not a wait): the
// function returned re-reads ct once the engine answered and must be called (later calls do nothing). Until
// then, events about ct start no re-read of their own.
func (c *Cluster) Expect(ct *Container) (reread func(ctx context.Context)) {
	return ct.Engine.promise(ct.ID)
}

// Subscribe returns past events since a time (none for the zero time) and a channel of new ones; see
// eventHub.Subscribe.
func (c *Cluster) Subscribe(since time.Time) ([]Event, <-chan Event, func()) {
	return c.events.Subscribe(since)
}

// Publish emits an event of swarm's own (e.g. a reschedule step) to every subscriber.
func (c *Cluster) Publish(ev Event) { c.events.publish(ev) }

// StateCounts counts engines and containers by state, for the metrics.
func (c *Cluster) StateCounts() (engines, containers map[string]int) {
	engines, containers = map[string]int{}, map[string]int{}
	c.mu.RLock()
	all := make([]*Engine, 0, len(c.engines))
	for _, e := range c.engines {
		all = append(all, e)
	}
	c.mu.RUnlock()
	for _, e := range all { // order does not matter: no sort, no copies of the containers
		e.mu.RLock()
		engines[e.state.String()]++
		for _, ct := range e.containers {
			containers[ct.State]++
		}
		e.mu.RUnlock()
	}
	return engines, containers
}
