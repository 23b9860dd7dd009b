// Package join runs `swarm join`: it keeps one engine registered in discovery (Consul) with a TTL, renewed every
// heartbeat, and deregisters it at once when stopped.
//
// Beyond the original it registers the engine as a Consul service (swarm-node) with a TTL check passed every
// heartbeat, so the Consul UI shows every node and its health; it checks that the advertised address answers
// the Docker API and warns (never fails) when it does not; and through a Consul outage it keeps retrying,
// logging each change of state once rather than every heartbeat. It reaches its engine through one Docker
// client, over TLS when Config.TLS asks for it: the engine check and --pipework both use that client.
package join

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"swarm/discovery"
	"swarm/internal/backoff"
	"swarm/overlay/mesh"
)

// Run registers cfg.Advertise until ctx ends, then deregisters it.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PrintMesh != nil {
		return printMesh(cfg.PrintMesh)
	}
	log := cfg.Logger.With("advertise", cfg.Advertise)
	b, err := discovery.New(cfg.Discovery, discovery.Options{Heartbeat: cfg.Heartbeat, TTL: cfg.TTL, Opts: cfg.DiscoveryOpts, Logger: log})
	if err != nil {
		return err
	}
	reg, ok := b.(discovery.Registrar)
	if !ok {
		return fmt.Errorf("%w (got %s)", discovery.ErrNotSupported, cfg.Discovery)
	}
	engine, err := engineClient(cfg)
	if err != nil {
		return err
	}
	defer engine.Close()
	svc := newService(b, cfg, log)
	if cfg.Delay > 0 {
		if !backoff.Sleep(ctx, rand.N(cfg.Delay)) {
			return nil
		}
	}
	checkEngine(ctx, engine, log)
	var frontends func() []mesh.Frontend
	if cfg.PluginDir != "" {
		wait, ag, err := startNetworks(ctx, cfg, engine, log)
		if err != nil {
			return err
		}
		defer wait()
		frontends = ag.Frontends
	}
	if cfg.MetricsAddr != "" {
		if err := serveMetrics(ctx, cfg.MetricsAddr, frontends, log); err != nil {
			return err
		}
	}
	if cfg.Pipework {
		go applyFixedAddresses(ctx, engine, log)
	}
	j := &joiner{reg: reg, svc: svc, engine: engine, cfg: cfg, log: log}
	j.loop(ctx)
	dctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err = reg.Deregister(dctx, cfg.Advertise)
	svc.deregister()
	if err != nil {
		return err
	}
	log.Info("deregistered")
	return nil
}

type joiner struct {
	reg     discovery.Registrar
	svc     *service
	engine  pinger
	cfg     Config
	log     *slog.Logger
	healthy bool
	lastErr string
}

// loop registers every heartbeat until ctx ends; it never gives up. After a failure it retries sooner, from
// one second doubling up to the heartbeat, so a Consul agent that is still starting (its node not yet in the
// catalog: "Missing node registration") does not keep the engine out of the cluster for a whole heartbeat.
func (j *joiner) loop(ctx context.Context) {
	first, retry := true, time.Second
	for {
		j.once(ctx, first)
		first = false
		wait := j.cfg.Heartbeat
		if !j.healthy {
			wait, retry = min(retry, wait), min(2*retry, wait)
		} else {
			retry = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// once registers and logs only changes of state.
func (j *joiner) once(ctx context.Context, first bool) {
	rctx, cancel := context.WithTimeout(ctx, max(j.cfg.Heartbeat, 5*time.Second))
	defer cancel()
	err := j.reg.Register(rctx, j.cfg.Advertise)
	if err == nil {
		j.svc.pass(rctx)
	}
	switch {
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
	case err == nil && !j.healthy:
		if first {
			j.log.Info("registered", "discovery", j.cfg.Discovery, "heartbeat", j.cfg.Heartbeat, "ttl", j.cfg.TTL)
		} else {
			j.log.Info("registered again")
			checkEngine(ctx, j.engine, j.log)
		}
		j.healthy, j.lastErr = true, ""
	case err != nil && (j.healthy || first || err.Error() != j.lastErr):
		j.log.Warn("cannot register; retrying", "err", err)
		j.healthy, j.lastErr = false, err.Error()
	}
}
