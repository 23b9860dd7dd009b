package join

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"

	"swarm/discovery"
	"swarm/overlay/agent"
	"swarm/overlay/dataplane"
	"swarm/overlay/netstate"
	"swarm/overlay/plugin"
)

// startNetworks serves the swarmnet network and IPAM plugin in cfg.PluginDir for the engine beside this join
// and runs its agent (overlay/agent), until ctx ends; wait waits for both to stop. Its VXLAN address is the
// advertised IP, so it must run in the engine's network namespace.
func startNetworks(ctx context.Context, cfg Config, log *slog.Logger) (wait func(), err error) {
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
	ag, err := agent.New(agent.Config{Host: cfg.Advertise, VTEP: vtep, State: state, Plane: plane, Logger: log})
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
	return func() { wg.Wait(); plane.Close() }, nil
}
