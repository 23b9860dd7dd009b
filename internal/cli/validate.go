package cli

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"swarm/internal/tlsfiles"
	"swarm/join"
	"swarm/list"
)

// Messages of the original CLI, kept word for word so scripts and docs that grep them keep working.
const (
	msgAdvertiseMissing  = "missing mandatory --advertise flag"
	msgAdvertiseForm     = "--advertise should be of the form ip:port or hostname:port"
	msgHeartbeatMin      = "--heartbeat should be at least one second"
	msgTTLVsHeartbeat    = "--ttl must be strictly superior to the heartbeat value"
	msgDelayNegative     = "--delay should not be a negative number"
	msgTimeoutPositive   = "--timeout should be a positive number"
	msgReplicationAddr   = "--advertise address must be provided when using --leader-election"
	msgTLSCertKey        = "--tlscert and --tlskey must be provided when using --tls"
	msgTLSCA             = "--tlscacert must be provided when using --tlsverify"
	msgTLSWithoutTLS     = "--tlscert, --tlscacert and --tlskey must be used with --tls or --tlsverify"
	msgRefreshMin        = "min refresh interval should be a positive number"
	msgRefreshMax        = "max refresh interval cannot be less than min refresh interval"
	msgFailureRetry      = "invalid failure retry count"
	msgRefreshRetry      = "--engine-refresh-retry is deprecated; use --engine-failure-retry"
	msgReplicationTTL    = "--replication-ttl should be a positive number"
	msgClusterDriver     = "unsupported cluster driver %q: only \"swarm\" is available"
	msgOvercommit        = "swarm.overcommit should be larger than -1, %f is invalid"
	msgCreateRetry       = "swarm.createretry can not be negative, %d is invalid"
	msgDiscoveryRequired = "discovery required to %s a cluster. See '%s %s --help'."
)

var strategies = []string{"spread", "binpack", "random"}

var filterNames = []string{"health", "port", "containerslots", "dependency", "affinity", "constraint", "whitelist"}

func discoveryArg(app, verb string, pos []string, getenv func(string) string) (string, error) {
	if len(pos) > 1 {
		return "", usagef("too many arguments: %q; the only argument is the discovery URL. See '%s %s --help'.",
			strings.Join(pos, " "), app, verb)
	}
	d := getenv("SWARM_DISCOVERY")
	if len(pos) == 1 {
		d = pos[0]
	}
	if d == "" {
		return "", usagef(msgDiscoveryRequired, verb, app, verb)
	}
	if strings.HasPrefix(d, "token://") {
		return "", usagef("%s", tokenGone)
	}
	return d, nil
}

func duration(fv values, name string) (time.Duration, error) {
	d, err := time.ParseDuration(fv.String(name))
	if err != nil {
		return 0, usagef("invalid --%s %q: a duration such as 10s, 1m or 500ms is expected", name, fv.String(name))
	}
	return d, nil
}

func keyValues(fv values, name string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range fv.List(name) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("invalid --%s %q: key=value expected", name, kv)
		}
		out[k] = v
	}
	return out, nil
}

func validAdvertise(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	p, err := strconv.Atoi(port)
	return err == nil && p >= 1 && p <= 65535
}

func joinConfig(app string, fv values, pos []string, getenv func(string) string) (join.Config, error) {
	var cfg join.Config
	d, err := discoveryArg(app, "join", pos, getenv)
	if err != nil {
		return cfg, err
	}
	cfg.Discovery, cfg.Advertise = d, fv.String("advertise")
	if cfg.Advertise == "" {
		return cfg, usagef(msgAdvertiseMissing)
	}
	if !validAdvertise(cfg.Advertise) {
		return cfg, usagef(msgAdvertiseForm)
	}
	if cfg.Heartbeat, err = duration(fv, "heartbeat"); err != nil {
		return cfg, err
	}
	if cfg.Heartbeat < time.Second {
		return cfg, usagef(msgHeartbeatMin)
	}
	if cfg.TTL, err = duration(fv, "ttl"); err != nil {
		return cfg, err
	}
	if cfg.TTL <= cfg.Heartbeat {
		return cfg, usagef(msgTTLVsHeartbeat)
	}
	if cfg.Delay, err = duration(fv, "delay"); err != nil {
		return cfg, err
	}
	if cfg.Delay < 0 {
		return cfg, usagef(msgDelayNegative)
	}
	cfg.Pipework = fv.Bool("pipework")
	cfg.PluginDir = fv.String("plugin-dir")
	if cfg.MetricsAddr = fv.String("metrics-addr"); cfg.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.MetricsAddr); err != nil {
			return cfg, usagef("--metrics-addr must be host:port, not %q", cfg.MetricsAddr)
		}
	}
	if cfg.TLS, err = tlsFlags(fv); err != nil {
		return cfg, err
	}
	cfg.DiscoveryOpts, err = keyValues(fv, "discovery-opt")
	return cfg, err
}

// tlsFlags reads --tls, --tlsverify, --tlscacert, --tlscert and --tlskey as classic Swarm did: TLS needs a
// certificate and its key, verifying needs a CA, and the files mean nothing without --tls or --tlsverify.
func tlsFlags(fv values) (tlsfiles.Files, error) {
	t := tlsfiles.Files{
		Enabled: fv.Bool("tls") || fv.Bool("tlsverify"), Verify: fv.Bool("tlsverify"),
		CACert: fv.String("tlscacert"), Cert: fv.String("tlscert"), Key: fv.String("tlskey"),
	}
	switch {
	case t.Enabled && (t.Cert == "" || t.Key == ""):
		return t, usagef(msgTLSCertKey)
	case t.Verify && t.CACert == "":
		return t, usagef(msgTLSCA)
	case !t.Enabled && (t.Cert != "" || t.Key != "" || t.CACert != ""):
		return t, usagef(msgTLSWithoutTLS)
	}
	return t, nil
}

func listConfig(app string, fv values, pos []string, getenv func(string) string) (list.Config, error) {
	var cfg list.Config
	d, err := discoveryArg(app, "list", pos, getenv)
	if err != nil {
		return cfg, err
	}
	cfg.Discovery = d
	if cfg.Timeout, err = duration(fv, "timeout"); err != nil {
		return cfg, err
	}
	if cfg.Timeout <= 0 {
		return cfg, usagef(msgTimeoutPositive)
	}
	cfg.DiscoveryOpts, err = keyValues(fv, "discovery-opt")
	return cfg, err
}

func newLogger(g values, w io.Writer) (*slog.Logger, error) {
	level := slog.LevelInfo
	if g.Bool("debug") && !g.IsSet("log-level") {
		level = slog.LevelDebug
	} else {
		switch strings.ToLower(g.String("log-level")) {
		case "debug":
			level = slog.LevelDebug
		case "info":
		case "warn", "warning":
			level = slog.LevelWarn
		case "error", "fatal", "panic":
			level = slog.LevelError
		default:
			return nil, usagef("invalid --log-level %q: use debug, info, warn, error, fatal or panic", g.String("log-level"))
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch g.String("log-format") {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("invalid --log-format %q: use text or json", g.String("log-format"))
}

func oneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if a == v {
			return true
		}
	}
	return false
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
