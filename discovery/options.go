package discovery

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The --discovery-opt keys. All of them configure consul:// discovery.
const (
	optPath   = "kv.path"       // the nodes directory under the URL's prefix (default docker/swarm/nodes)
	optCACert = "kv.cacertfile" // TLS to Consul: the CA, client certificate and key, all three or none
	optCert   = "kv.certfile"
	optKey    = "kv.keyfile"
	optToken  = "consul.token" // ACL token (default: CONSUL_HTTP_TOKEN)
)

// knownOptions are the --discovery-opt keys, sorted as the error message lists them.
var knownOptions = []string{optToken, optCACert, optCert, optKey, optPath}

// defaultHeartbeat is the retry and file re-read period when Options.Heartbeat is not set.
const defaultHeartbeat = 10 * time.Second

// checkOptions refuses --discovery-opt keys this package does not know, naming them, so that a typo
// (kv.paht=...) fails at start instead of being ignored. Every known key configures Consul: given with a
// file:// or nodes:// URL they do nothing, which one warning says, and they are not refused.
func checkOptions(scheme string, opts Options) error {
	var unknown, given []string
	for k := range opts.Opts {
		if slices.Contains(knownOptions, k) {
			given = append(given, k)
		} else {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	slices.Sort(given)
	if len(unknown) > 0 {
		noun := "option"
		if len(unknown) > 1 {
			noun = "options"
		}
		for i, k := range unknown {
			unknown[i] = strconv.Quote(k)
		}
		return fmt.Errorf("unknown discovery %s %s: known options are %s", noun, strings.Join(unknown, ", "), strings.Join(knownOptions, ", "))
	}
	if scheme != "consul" && len(given) > 0 {
		logger(opts).Warn("discovery options only apply to consul:// discovery; ignoring them",
			"scheme", scheme, "options", strings.Join(given, ","))
	}
	return nil
}

// withDefaults fills in the heartbeat and the logger.
func withDefaults(opts Options) Options {
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = defaultHeartbeat
	}
	opts.Logger = logger(opts)
	return opts
}

func logger(opts Options) *slog.Logger {
	if opts.Logger == nil {
		return slog.Default()
	}
	return opts.Logger
}
