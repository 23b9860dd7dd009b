package join

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"

	"github.com/docker/docker/client"

	"swarm/discovery"
	"swarm/overlay/agent"
	"swarm/overlay/dataplane"
	"swarm/overlay/netstate"
	"swarm/overlay/plugin"
	"swarm/overlay/resolver"
)

// resolvConf is where the host's resolvers are read from: names the cluster does not know go to them.
const resolvConf = "/etc/resolv.conf"

// startNetworks serves the swarmnet network and IPAM plugin in cfg.PluginDir for the engine beside this join
// and runs its agent (overlay/agent) and its DNS (overlay/resolver), until ctx ends; wait waits for them to
// stop. Its VXLAN address is the advertised IP, so it must run in the engine's network namespace.
func startNetworks(ctx context.Context, cfg Config, engine *client.Client, log *slog.Logger) (wait func(), err error) {
	if !strings.HasPrefix(cfg.Discovery, "consul://") {
		return nil, fmt.Errorf("--plugin-dir needs consul:// discovery: cluster networks keep their state in Consul")
	}
	host, _, err := net.SplitHostPort(cfg.Advertise)
	vtep := net.ParseIP(host)
	if err != nil || vtep.To4() == nil {
		return nil, fmt.Errorf("--plugin-dir needs --advertise to be an IPv4 address and port (the VXLAN endpoint), not %q", cfg.Advertise)
	}
	client, prefix, err := discovery.ConsulClient(cfg.Discovery, discovery.Options{Opts: cfg.DiscoveryOpts})
	if err != nil {
		return nil, err
	}
	state, err := netstate.New(client, prefix, netstate.Config{})
	if err != nil {
		return nil, err
	}
	plane, err := dataplane.New(dataplane.Config{VTEP: vtep})
	if err != nil {
		return nil, err
	}
	upstream, err := resolver.Upstream(resolvConf)
	if err != nil {
		log.Warn("cluster networks: only cluster names will resolve", "err", err)
	}
	var ag *agent.Agent
	dns := resolver.New(resolver.Config{Book: bookOf(func() *agent.Agent { return ag }), Upstream: upstream, Logger: log})
	ag, err = agent.New(agent.Config{Host: cfg.Advertise, VTEP: vtep, State: state, Plane: plane, Logger: log,
		Engine: engineNamer{engine}, Resolver: dns})
	if err != nil {
		plane.Close()
		return nil, err
	}
	socket := filepath.Join(cfg.PluginDir, plugin.Name+".sock")
	srv, err := plugin.New(plugin.Config{Socket: socket, Driver: ag, IPAM: ag, Logger: log})
	if err != nil {
		plane.Close()
		return nil, err
	}
	log.Info("serving cluster networks", "plugin", socket, "vtep", vtep)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ctx); err != nil {
			log.Error("cluster networks: the plugin stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		ag.Run(ctx)
	}()
	return func() { wg.Wait(); dns.Close(); plane.Close() }, nil
}

// bookOf is the agent's names for the resolver, which is made before the agent it reads.
type bookOf func() *agent.Agent

func (b bookOf) Lookup(network string, from net.IP, name string) []net.IP {
	return b().Lookup(network, from, name)
}
