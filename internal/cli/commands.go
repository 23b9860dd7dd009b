package cli

// The command and flag tables. They are the single source for parsing, `--help` and docs/reference.md.

var helpFlag = flagDef{Names: []string{"help", "h"}, Kind: kBool, Usage: "show help"}

var discoveryOptFlag = flagDef{Names: []string{"discovery-opt"}, Kind: kList,
	Usage: "discovery options, key=value: kv.path, kv.cacertfile, kv.certfile, kv.keyfile, consul.token (others are refused)"}

var globalFlags = []flagDef{
	{Names: []string{"debug"}, Kind: kBool, Env: "DEBUG", Usage: "debug mode (log level debug unless --log-level is given)"},
	{Names: []string{"log-level", "l"}, Default: "info", Usage: "log level: debug, info, warn, error, fatal or panic"},
	{Names: []string{"log-format"}, Default: "text", Usage: "log format: text or json"},
	{Names: []string{"experimental"}, Kind: kBool, Usage: "enable experimental features"},
	{Names: []string{"version", "v"}, Kind: kBool, Usage: "print the version"},
	helpFlag,
}

type command struct {
	Name      string
	Aliases   []string
	Usage     string
	ArgsUsage string
	Flags     []flagDef
	RawArgs   bool // the command parses its own arguments (pipework)
}

var manageCmd = command{
	Name: "manage", Aliases: []string{"m"}, Usage: "Manage a docker cluster",
	ArgsUsage: "<discovery>",
	Flags: []flagDef{
		{Names: []string{"strategy"}, Default: "spread", Usage: "placement strategy: spread, binpack or random"},
		{Names: []string{"filter", "f"}, Kind: kList, Default: "health,port,containerslots,dependency,affinity,constraint,whitelist",
			Usage: "filter to use, repeatable; the list replaces the default and sets the order"},
		{Names: []string{"host", "H"}, Kind: kList, Default: "tcp://127.0.0.1:2375", Env: "SWARM_HOST",
			Usage: "address to listen on, repeatable: tcp://host:port or unix:///path"},
		{Names: []string{"heartbeat"}, Default: "60s", Usage: "period between discovery retries"},
		{Names: []string{"api-enable-cors", "cors"}, Kind: kBool, Usage: "enable CORS headers in the remote API"},
		{Names: []string{"replication"}, Kind: kBool, Usage: "take part in primary election (needs --advertise and consul discovery)"},
		{Names: []string{"replication-ttl"}, Default: "20s", Usage: "lease of the primary's leadership"},
		{Names: []string{"advertise", "addr"}, Env: "SWARM_ADVERTISE", Usage: "address other managers reach this one at, host:port"},
		{Names: []string{"tls"}, Kind: kBool, Usage: "use TLS; implied by --tlsverify"},
		{Names: []string{"tlsverify"}, Kind: kBool, Usage: "use TLS and verify the remote"},
		{Names: []string{"tlscacert"}, Usage: "trust only certificates signed by this CA"},
		{Names: []string{"tlscert"}, Usage: "path to the TLS certificate file"},
		{Names: []string{"tlskey"}, Usage: "path to the TLS key file"},
		{Names: []string{"engine-tlscacert"}, Usage: "CA for engines, when it differs from --tlscacert"},
		{Names: []string{"engine-tlscert"}, Usage: "client certificate for engines, when it differs from --tlscert"},
		{Names: []string{"engine-tlskey"}, Usage: "client key for engines, when it differs from --tlskey"},
		{Names: []string{"engine-refresh-min-interval"}, Default: "30s", Usage: "minimum delay between engine state refreshes"},
		{Names: []string{"engine-refresh-max-interval"}, Default: "60s", Usage: "maximum delay between engine state refreshes"},
		{Names: []string{"engine-failure-retry"}, Default: "3", Usage: "failures in a row to reach an engine (a failed call is checked with a ping) before it is marked unhealthy"},
		{Names: []string{"engine-refresh-retry"}, Default: "3", Usage: "deprecated; use --engine-failure-retry"},
		{Names: []string{"cluster-driver", "c"}, Default: "swarm", Usage: "cluster driver (only swarm)"},
		{Names: []string{"cluster-opt"}, Kind: kList, Usage: "cluster options, key=value: swarm.overcommit=0.05, swarm.createretry=0"},
		discoveryOptFlag,
		{Names: []string{"refresh-on-node-filter"}, Kind: kBool, Usage: "refresh an engine's containers before listing with a node filter"},
		{Names: []string{"container-name-refresh-filter"}, Usage: "refresh all engines before listing with this name filter"},
		{Names: []string{"pprof"}, Kind: kBool, Usage: "serve /debug/pprof on the API listener"},
		{Names: []string{"secrets-key"}, Env: "SWARM_SECRETS_KEY", Usage: "file of the key that seals swarm mode's secrets " +
			"in Consul (made on first use; give every manager the same file); without it secrets are refused"},
		helpFlag,
	},
}

var joinCmd = command{
	Name: "join", Aliases: []string{"j"}, Usage: "Join a docker cluster",
	ArgsUsage: "<discovery>",
	Flags: []flagDef{
		{Names: []string{"advertise", "addr"}, Env: "SWARM_ADVERTISE", Usage: "address of the docker engine joining the cluster, ip:port"},
		{Names: []string{"heartbeat"}, Default: "60s", Usage: "period between registrations"},
		{Names: []string{"ttl"}, Default: "180s", Usage: "lifetime of a registration"},
		{Names: []string{"delay"}, Default: "0s", Usage: "random delay, in [0,delay), before the first registration"},
		{Names: []string{"pipework"}, Kind: kBool, Usage: "give containers labelled com.docker.swarm.pipework their fixed address " +
			"on start (root, in the engine's network namespace)"},
		{Names: []string{"plugin-dir"}, Usage: "serve the swarmnet network and IPAM plugin (cluster networks) in this " +
			"directory, e.g. /run/docker/plugins (root, in the engine's network namespace, consul:// discovery)"},
		{Names: []string{"metrics-addr"}, Usage: "serve Prometheus metrics (the routing mesh's frontends and their tasks) on this host:port"},
		{Names: []string{"print-mesh"}, Kind: kBool, Usage: "print the routing mesh (nftables) this host's kernel holds, then exit " +
			"(root, in the engine's network namespace)"},
		{Names: []string{"tls"}, Kind: kBool, Usage: "reach the engine at --advertise over TLS; implied by --tlsverify"},
		{Names: []string{"tlsverify"}, Kind: kBool, Usage: "reach the engine over TLS and verify its certificate"},
		{Names: []string{"tlscacert"}, Usage: "trust only engine certificates signed by this CA"},
		{Names: []string{"tlscert"}, Usage: "path to the TLS client certificate presented to the engine"},
		{Names: []string{"tlskey"}, Usage: "path to the TLS client key"},
		discoveryOptFlag,
		helpFlag,
	},
}

var listCmd = command{
	Name: "list", Aliases: []string{"l"}, Usage: "List nodes in a cluster",
	ArgsUsage: "<discovery>",
	Flags: []flagDef{
		{Names: []string{"timeout"}, Default: "10s", Usage: "give up after this long"},
		discoveryOptFlag,
		helpFlag,
	},
}

var createCmd = command{
	Name: "create", Aliases: []string{"c"}, Usage: "Create a cluster (retired: Docker's hosted token service was shut down)",
	Flags: []flagDef{helpFlag},
}

var pipeworkCmd = command{
	Name: "pipework", Usage: "Give a container an interface with a fixed IP on a host bridge or interface",
	ArgsUsage: "HOSTIF [-i CIF] [-l LOCALIF] [-a 4|6] CONTAINER IP/LEN[@GW] [MAC][@VLAN]  (see `swarm pipework --help`)",
	RawArgs:   true,
}

var helpCmd = command{Name: "help", Aliases: []string{"h"}, Usage: "Shows a list of commands or help for one command",
	ArgsUsage: "[command]"}

var commands = []*command{&createCmd, &listCmd, &manageCmd, &joinCmd, &pipeworkCmd, &helpCmd}

func findCommand(name string) *command {
	for _, c := range commands {
		if c.Name == name {
			return c
		}
		for _, a := range c.Aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}
