package join

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"

	"github.com/docker/docker/client"

	"swarm/discovery"
	"swarm/overlay/agent"
	"swarm/overlay/dataplane"
	"swarm/overlay/mesh"
	"swarm/overlay/netstate"
	"swarm/overlay/plugin"
	"swarm/overlay/resolver"
)

// resolvConf is where the host's resolvers are read from: names the cluster does not know go to them.
const resolvConf = "/etc/resolv.conf"

// startNetworks serves the swarmnet network and IPAM plugin in cfg.PluginDir for the engine beside this join
// and runs its agent (overlay/agent) and its DNS (overlay/resolver), until ctx ends; wait waits for them to
// stop. Its VXLAN address is the advertised IP, so it must run in the engine's network namespace.
func startNetworks(ctx context.Context, cfg Config, engine *client.Client, log *slog.Logger) (wait func(), ag *agent.Agent, err error) {
	if !strings.HasPrefix(cfg.Discovery, "consul://") {
		return nil, nil, fmt.Errorf("--plugin-dir needs consul:// discovery: cluster networks keep their state in Consul")
	}
	host, _, err := net.SplitHostPort(cfg.Advertise)
	vtep := net.ParseIP(host)
	if err != nil || vtep.To4() == nil {
		return nil, nil, fmt.Errorf("--plugin-dir needs --advertise to be an IPv4 address and port (the VXLAN endpoint), not %q", cfg.Advertise)
	}
	client, prefix, err := discovery.ConsulClient(cfg.Discovery, discovery.Options{Opts: cfg.DiscoveryOpts})
	if err != nil {
		return nil, nil, err
	}
	state, err := netstate.New(client, prefix, netstate.Config{})
	if err != nil {
		return nil, nil, err
	}
	plane, err := dataplane.New(dataplane.Config{VTEP: vtep})
	if err != nil {
		return nil, nil, err
	}
	upstream, err := resolver.Upstream(resolvConf)
	if err != nil {
		log.Warn("cluster networks: only cluster names will resolve", "err", err)
	}
	routes, err := mesh.New(mesh.Config{})
	if err != nil {
		plane.Close()
		return nil, nil, err
	}
	closeAll := func() {
		if err := routes.Flush(); err != nil {
			log.Warn("routing mesh: cannot remove this host's rules", "err", err)
		}
		routes.Close()
		plane.Close()
	}
	dns := resolver.New(resolver.Config{Book: bookOf(func() *agent.Agent { return ag }), Upstream: upstream, Logger: log})
	ag, err = agent.New(agent.Config{Host: cfg.Advertise, VTEP: vtep, State: state, Plane: plane, Logger: log,
		Engine: engineNamer{engine: engine, log: log}, Resolver: dns, Mesh: routes})
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	socket := filepath.Join(cfg.PluginDir, plugin.Name+".sock")
	srv, err := plugin.New(plugin.Config{Socket: socket, Driver: ag, IPAM: ag, Logger: log})
	if err != nil {
		closeAll()
		return nil, nil, err
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
	return func() { wg.Wait(); dns.Close(); closeAll() }, ag, nil
}

// printMesh writes the routing mesh the kernel of this network namespace holds (`swarm join --print-mesh`).
func printMesh(w io.Writer) error {
	routes, err := mesh.New(mesh.Config{})
	if err != nil {
		return err
	}
	defer routes.Close()
	text, err := routes.Describe()
	if err != nil {
		return err
	}
	if text == "" {
		text = "no routing mesh on this host\n"
	}
	_, err = io.WriteString(w, text)
	return err
}

// bookOf is the agent's names for the resolver, which is made before the agent it reads.
type bookOf func() *agent.Agent

func (b bookOf) Lookup(network string, from net.IP, name string) []net.IP {
	return b().Lookup(network, from, name)
}
