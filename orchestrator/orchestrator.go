package orchestrator

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"swarm/cluster"
	"swarm/desired"
)

// Cluster is what the orchestrator needs of the cluster core (*cluster.Cluster).
type Cluster interface {
	Engines() []*cluster.Engine
	Identities() uint64
	CreateContainer(ctx context.Context, req cluster.CreateRequest) (*cluster.CreateResponse, error)
	SetNodeMeta(m map[string]cluster.NodeMeta)
	Publish(ev cluster.Event)
}

var _ Cluster = (*cluster.Cluster)(nil)

// Role says who is primary: this manager (primary) or the one at addr.
type Role func() (primary bool, addr string)

// Config configures an Orchestrator.
type Config struct {
	Cluster   Cluster
	Store     desired.Store
	Networks  Networks // the cluster networks; nil when the manager has none
	Secrets   Secrets  // secrets and configs for tasks; nil: services that use any are refused
	Advertise string   // this manager's address (host:port), "" when it has none
	Role      Role     // nil: always primary
	Logger    *slog.Logger
	// Tick is the period of a reconciling pass when nothing asks for one sooner (0: a second).
	Tick time.Duration
	// Parallel bounds the task actions (creates, stops, removes) under way at once (0: 64).
	Parallel int
	// HistoryLimit is how many ended tasks are kept per slot besides the current one (0: 4, as swarm's
	// default task history of 5 tasks per slot).
	HistoryLimit int
}

// Orchestrator serves services, tasks and nodes (API, on every manager) and, on the primary, keeps the tasks
// as the services ask (its reconciler, started by Run); both work over one shared state.
type Orchestrator struct {
	*API
	r *reconciler
}

// shared is what the API and the reconciler both read and write: the configuration, the cluster and the
// desired state, the primary's memory, the observed tasks, and what this manager keeps of services beside the
// store (registry credentials, the versions of its spec writes).
type shared struct {
	cfg   Config
	cl    Cluster
	store desired.Store
	log   *slog.Logger
	kick  chan struct{}
	mem   atomic.Pointer[memory]
	auths sync.Map // service ID → X-Registry-Auth given at create or update (kept in memory only)
	// observed are the engines' task containers as of the last view
	observed observedTasks
	specs    specVersions // the versions of this manager's spec writes (api_services.go)
}

// API serves services, tasks, nodes and /info's Swarm section: the proxy's swarm-mode backend.
type API struct {
	*shared
	info infoMemo
	// writing makes each create and update of a service one step on this manager (replicas forward theirs to
	// the primary): a name or a published port is checked and taken at once, never by two services.
	writing sync.Mutex
}

// reconciler keeps each service's tasks as its spec asks, while this manager is the primary.
type reconciler struct {
	*shared
	slots chan struct{} // bounds the actions under way (Config.Parallel)
}

// memory is what only the primary keeps, in memory, all under mu.
type memory struct {
	mu        sync.Mutex
	busy      map[slotKey]bool     // slots with an action under way
	loose     map[slotKey]*task    // tasks without a container: pending placement, or rejected
	shut      map[string]bool      // task IDs this primary shut down
	unhealthy map[string]bool      // of those, the ones it stopped because their health check failed
	endedAt   map[string]time.Time // task IDs: when this primary first saw the task ended
	restarts  map[slotKey][]time.Time
	updates   map[string]*rollout   // services' updates under way, by service ID
	skip      map[slotKey]time.Time // global slots whose node does not fit the service, until when not to try
	firstSeen map[string]time.Time  // nodes without a record: when this manager first saw them
	records   meshRecords
}

func newMemory() *memory {
	return &memory{busy: map[slotKey]bool{}, loose: map[slotKey]*task{}, shut: map[string]bool{}, unhealthy: map[string]bool{},
		endedAt: map[string]time.Time{}, restarts: map[slotKey][]time.Time{}, updates: map[string]*rollout{},
		skip: map[slotKey]time.Time{}, firstSeen: map[string]time.Time{}}
}

// New builds an orchestrator; it starts nothing.
func New(cfg Config) *Orchestrator {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 64
	}
	if cfg.HistoryLimit <= 0 {
		cfg.HistoryLimit = 4
	}
	if cfg.Role == nil {
		cfg.Role = func() (bool, string) { return true, cfg.Advertise }
	}
	sh := &shared{cfg: cfg, cl: cfg.Cluster, store: cfg.Store, log: cfg.Logger, kick: make(chan struct{}, 1)}
	sh.mem.Store(newMemory())
	return &Orchestrator{API: &API{shared: sh}, r: &reconciler{shared: sh, slots: make(chan struct{}, cfg.Parallel)}}
}

// Run keeps the node metadata in the cluster current with the store, and reconciles while this manager is the
// primary (Config.Role), until ctx ends (see reconciler.run).
func (o *Orchestrator) Run(ctx context.Context) { o.r.run(ctx) }

func (o *shared) memo() *memory { return o.mem.Load() }

// Kick asks for a reconciling pass soon (coalesced).
func (o *shared) Kick() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// run keeps the node metadata in the cluster current with the store, and reconciles while this manager is the
// primary (Config.Role), until ctx ends. The first pass waits until the engines known at start have been
// read (or settle, at most settle), so tasks on engines not read yet are not taken for missing.
func (o *reconciler) run(ctx context.Context) {
	tick := time.NewTicker(o.cfg.Tick)
	defer tick.Stop()
	var t term
	defer t.end()
	for {
		o.pushNodeMeta()
		primary, _ := o.cfg.Role()
		switch {
		case primary && t.ctx == nil:
			o.log.Info("orchestrator: acting as primary")
			o.mem.Store(newMemory()) // nothing carries over from an earlier term
			o.specs.clear()
			t.begin(ctx)
			if !o.settle(t.ctx) {
				t.end()
			}
		case !primary && t.ctx != nil:
			o.log.Info("orchestrator: no longer primary; stopped")
			t.end()
		}
		began := time.Now()
		if t.ctx != nil {
			o.reconcile(t.ctx)
		}
		last := time.Now()
		gap := max(minGap, gapPerPass*last.Sub(began))
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-o.kick:
		case <-o.store.Changed():
		}
		select { // kicks that come in a burst (every action's end kicks) make one pass
		case <-ctx.Done():
			return
		case <-time.After(time.Until(last.Add(gap))):
		}
	}
}

// minGap is the least time between two passes; gapPerPass times a pass's own time is the least after a long
// one (on a large fleet a pass reads thousands of tasks: it takes at most a quarter of a core).
const (
	minGap     = 50 * time.Millisecond
	gapPerPass = 3
)

// term is a primary's term: the actions it started stop when it ends.
type term struct {
	ctx  context.Context
	stop context.CancelFunc
}

func (t *term) begin(parent context.Context) { t.ctx, t.stop = context.WithCancel(parent) }

func (t *term) end() {
	if t.stop != nil {
		t.stop()
	}
	t.ctx, t.stop = nil, nil
}

// settle reads the store afresh (another primary may have written it last) and waits, up to settleMax, until
// no engine is still being read for the first time. It is false when the store cannot be read.
func (o *reconciler) settle(ctx context.Context) bool {
	if l, ok := o.store.(interface{ Load(context.Context) error }); ok {
		if err := l.Load(ctx); err != nil {
			o.log.Warn("orchestrator: cannot read the desired state; not acting until it can", "err", err)
			return false
		}
	}
	deadline := time.Now().Add(settleMax)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		pending := false
		for _, e := range o.cl.Engines() {
			if e.State() == cluster.StatePending {
				pending = true
				break
			}
		}
		if !pending {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

const settleMax = 15 * time.Second
