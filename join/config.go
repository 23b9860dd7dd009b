package join

import (
	"io"
	"log/slog"
	"time"

	"swarm/internal/tlsfiles"
)

// Config is everything `swarm join` needs; the CLI fills it and validates it.
type Config struct {
	Discovery     string            // discovery URL, e.g. consul://10.0.0.1:8500/swarm
	DiscoveryOpts map[string]string // --discovery-opt k=v
	Advertise     string            // host:port of the engine to register
	Heartbeat     time.Duration     // registration period
	TTL           time.Duration     // lifetime of a registration
	Delay         time.Duration     // random delay, in [0,Delay), before the first registration
	Pipework      bool              // apply com.docker.swarm.pipework labels to the engine's containers on start
	PluginDir     string            // serve the swarmnet network plugin here ("": cluster networks off)
	PrintMesh     io.Writer         // non-nil: write the routing mesh this host's kernel holds there, then return
	MetricsAddr   string            // serve Prometheus metrics on this host:port ("": none)
	TLS           tlsfiles.Files    // how join reaches its engine at Advertise (--tls...); the zero value is plain TCP
	Logger        *slog.Logger
}
