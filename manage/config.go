package manage

import (
	"log/slog"
	"time"

	"swarm/internal/tlsfiles"
)

// Config is everything `swarm manage` needs; the CLI fills and validates it.
type Config struct {
	Hosts         []string          // listen addresses: tcp://host:port or unix:///path
	Discovery     string            // discovery URL
	DiscoveryOpts map[string]string // --discovery-opt k=v
	Heartbeat     time.Duration     // discovery retry period

	Strategy    string            // spread, binpack or random
	Filters     []string          // filter names in order
	ClusterOpts map[string]string // --cluster-opt k=v (validated by the CLI)
	Overcommit  float64           // swarm.overcommit
	CreateRetry int               // swarm.createretry

	CORS bool

	Replication    bool
	ReplicationTTL time.Duration
	Advertise      string // host:port others reach this manager at

	TLS       TLSConfig // the listener (and, unless EngineTLS is set, engines and the primary)
	EngineTLS TLSConfig // client material for engines when it differs

	EngineRefreshMin   time.Duration
	EngineRefreshMax   time.Duration
	EngineFailureRetry int

	RefreshOnNodeFilter        bool
	ContainerNameRefreshFilter string

	Pprof bool // serve /debug/pprof

	SecretsKey string // the file of the key that seals secrets ("": secrets are refused)

	Experimental bool
	Debug        bool
	Logger       *slog.Logger
}

// TLSConfig names TLS material. Enabled is --tls; Verify is --tlsverify.
type TLSConfig = tlsfiles.Files
