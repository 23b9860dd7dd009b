package manage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"

	"swarm/cluster"
	"swarm/desired"
	"swarm/discovery"
	"swarm/internal/gcfloor"
	"swarm/internal/metrics"
	"swarm/lease"
	"swarm/orchestrator"
	"swarm/overlay/copies"
	"swarm/overlay/netstate"
	"swarm/proxy"
	"swarm/scheduler"
	"swarm/secrets"
)

// Server timeouts: a slow client cannot pin connections, while streams (logs -f, events, attach) run unbounded.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 5 * time.Second
)

// backends are what the discovery URL gives: the engine watch and, with consul://, the one Consul client that
// the fixed-address store and the election share with it.
type backends struct {
	disc   discovery.Backend
	consul *api.Client // nil without consul://
	prefix string
}

func newBackends(cfg Config, log *slog.Logger) (backends, error) {
	opts := discovery.Options{Heartbeat: cfg.Heartbeat, Opts: cfg.DiscoveryOpts, Logger: log}
	if !strings.HasPrefix(cfg.Discovery, "consul://") {
		d, err := discovery.New(cfg.Discovery, opts)
		return backends{disc: d}, err
	}
	client, prefix, err := discovery.ConsulClient(cfg.Discovery, opts)
	if err != nil {
		return backends{}, err
	}
	d, err := discovery.NewConsul(client, prefix, opts)
	return backends{disc: d, consul: client, prefix: prefix}, err
}

// leases is the fixed-address store: in Consul, so nil without it.
func (b backends) leases() cluster.LeaseStore {
	if b.consul == nil {
		return nil
	}
	return lease.New(b.consul.KV(), b.prefix)
}

// networks is the cluster networks' store: in Consul, so nil without it.
func (b backends) networks() (proxy.ClusterNetworks, *netstate.Store, error) {
	if b.consul == nil {
		return nil, nil, nil
	}
	st, err := netstate.New(b.consul, b.prefix, netstate.Config{})
	return st, st, err
}

// desired is the store of services and node specs: in Consul beside discovery's keys, else in this process
// (file:// and nodes:// discovery have no shared store). run keeps it current until ctx ends.
func (b backends) desired(log *slog.Logger) (store desired.Store, run func(context.Context)) {
	if b.consul == nil {
		return desired.NewMemory(), func(context.Context) {}
	}
	c := desired.NewConsul(b.consul, b.prefix, log)
	return c, func(ctx context.Context) { c.Run(ctx) }
}

// secretsAPI keeps swarm mode's secrets and configs in the desired state, secrets sealed with the key in
// cfg.SecretsKey (made there on first use); without one, configs work and secrets are refused.
func secretsAPI(cfg Config, store desired.Store, log *slog.Logger) (*secrets.API, error) {
	var key *secrets.Key
	if cfg.SecretsKey != "" {
		k, err := secrets.LoadKey(cfg.SecretsKey)
		if err != nil {
			return nil, err
		}
		key = k
		log.Info("secrets: sealing with the managers' key", "file", cfg.SecretsKey, "fingerprint", k.Fingerprint())
	}
	return secrets.New(secrets.Config{Store: store, Key: key}), nil
}

// Run serves the cluster API on every cfg.Hosts address until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger
	sched, err := scheduler.New(scheduler.Config{Strategy: cfg.Strategy, Filters: cfg.Filters, Overcommit: cfg.Overcommit})
	if err != nil {
		return err
	}
	back, err := newBackends(cfg, log)
	if err != nil {
		return err
	}
	engineTLS, err := clientTLS(cfg)
	if err != nil {
		return err
	}
	listeners, err := listen(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go gcfloor.Run(ctx, gcfloor.Headroom)
	var cl *cluster.Cluster
	m := metrics.New(func() (map[string]int, map[string]int) { return cl.StateCounts() })
	cl = cluster.New(ctx, cluster.Options{
		Strategy: cfg.Strategy, Filters: cfg.Filters, Overcommit: cfg.Overcommit, CreateRetry: cfg.CreateRetry,
		FailureRetry: cfg.EngineFailureRetry, RefreshMin: cfg.EngineRefreshMin, RefreshMax: cfg.EngineRefreshMax,
		TLS: engineTLS, Experimental: cfg.Experimental, Debug: cfg.Debug, Metrics: m, Logger: log,
		RefreshOnNodeFilter: cfg.RefreshOnNodeFilter, NameRefreshFilter: cfg.ContainerNameRefreshFilter,
		Leases: back.leases(),
	}, sched)
	defer cl.Close()
	role := &roleState{role: proxy.Role{Primary: !cfg.Replication}}
	store, runStore := back.desired(log)
	nets, netStore, err := back.networks()
	if err != nil {
		return err
	}
	var orchNets orchestrator.Networks
	if netStore != nil {
		orchNets = netStore
	}
	objects, err := secretsAPI(cfg, store, log)
	if err != nil {
		return err
	}
	orch := orchestrator.New(orchestrator.Config{Cluster: cl, Store: store, Networks: orchNets, Secrets: objects, Advertise: selfAddr(cfg),
		Logger: log, Role: func() (bool, string) { r := role.get(); return r.Primary, r.PrimaryAddr }})
	role.onChange = orch.Kick
	api := proxy.New(proxy.Config{Backend: cl, Swarm: orch, Networks: nets, Secrets: objects, Role: role.get, CORS: cfg.CORS, Pprof: cfg.Pprof,
		Experimental: cfg.Experimental, Advertise: cfg.Advertise, Primary: proxy.PrimaryLink{TLS: engineTLS}, Metrics: m, Logger: log})
	var wg sync.WaitGroup
	if netStore != nil {
		keeper := &copies.Keeper{Networks: netStore, Engines: cl.Engines, Primary: func() bool { return role.get().Primary }, Logger: log}
		wg.Add(1)
		go func() { defer wg.Done(); keeper.Run(ctx) }()
	}
	wg.Add(6)
	go func() { defer wg.Done(); watchDiscovery(ctx, back.disc, cl, log) }()
	go func() { defer wg.Done(); runStore(ctx) }()
	go func() { defer wg.Done(); orch.Run(ctx) }()
	go func() { defer wg.Done(); cl.RunRescheduler(ctx) }()
	go func() { defer wg.Done(); cl.RunLeaseSweeper(ctx) }()
	cl.SetPrimary(!cfg.Replication)
	errc := make(chan error, 2)
	go func() {
		defer wg.Done()
		if cfg.Replication {
			if err := replicate(ctx, cfg, back, cl, role, m, log); err != nil {
				errc <- err
			}
		}
	}()
	go func() { errc <- serve(ctx, cfg, listeners, api, log) }()
	err = <-errc
	cancel()
	wg.Wait()
	return err
}

// selfAddr is the address this manager is known at: --advertise, else its first TCP listener.
func selfAddr(cfg Config) string {
	if cfg.Advertise != "" {
		return cfg.Advertise
	}
	for _, h := range cfg.Hosts {
		if addr, ok := strings.CutPrefix(h, "tcp://"); ok {
			return addr
		}
	}
	return ""
}

// watchDiscovery keeps the engine set equal to what discovery reports.
func watchDiscovery(ctx context.Context, d discovery.Backend, cl *cluster.Cluster, log *slog.Logger) {
	entries, errs := d.Watch(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case list, ok := <-entries:
			if !ok {
				return
			}
			addrs := make([]string, len(list))
			for i, e := range list {
				addrs[i] = e.String()
			}
			log.Debug("discovery update", "engines", len(addrs))
			cl.SetEngines(addrs)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			log.Warn("discovery error", "err", err)
		}
	}
}

// listen opens every -H address before anything starts, so a bad address fails fast.
func listen(cfg Config) ([]net.Listener, error) {
	var out []net.Listener
	for _, h := range cfg.Hosts {
		proto, addr, _ := strings.Cut(h, "://")
		if proto == "unix" {
			os.Remove(addr)
		}
		l, err := net.Listen(proto, addr)
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, fmt.Errorf("cannot listen on %s: %w", h, err)
		}
		if proto == "tcp" && !cfg.TLS.Enabled && !isLoopback(l.Addr()) {
			cfg.Logger.Warn("serving the Docker API on a non-loopback address WITHOUT TLS: anyone who can reach it "+
				"controls every engine of the cluster; use --tlsverify outside a trusted network", "addr", h)
		}
		out = append(out, l)
	}
	return out, nil
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

func serve(ctx context.Context, cfg Config, listeners []net.Listener, h http.Handler, log *slog.Logger) error {
	tlsCfg, err := serverTLS(cfg)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: idleTimeout, TLSConfig: tlsCfg,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		log.Info("listening", "addr", l.Addr().String(), "tls", tlsCfg != nil)
		go func() {
			var err error
			if tlsCfg != nil {
				err = srv.ServeTLS(l, "", "")
			} else {
				err = srv.Serve(l)
			}
			errc <- err
		}()
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			srv.Close()
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	srv.Shutdown(sctx)
	srv.Close()
	return nil
}
