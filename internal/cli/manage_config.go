package cli

import (
	"strconv"
	"strings"
	"time"

	"swarm/manage"
)

func manageConfig(app string, fv values, pos []string, getenv func(string) string) (manage.Config, error) {
	cfg := manage.Config{Overcommit: 0.05}
	d, err := discoveryArg(app, "manage", pos, getenv)
	if err != nil {
		return cfg, err
	}
	cfg.Discovery, cfg.CORS = d, fv.Bool("api-enable-cors")
	cfg.RefreshOnNodeFilter = fv.Bool("refresh-on-node-filter")
	cfg.ContainerNameRefreshFilter = fv.String("container-name-refresh-filter")
	cfg.Pprof = fv.Bool("pprof")
	cfg.SecretsKey = fv.String("secrets-key")
	steps := []func(*manage.Config, values) error{
		manageScheduling, manageHosts, manageTiming, manageReplication, manageTLS, manageClusterOpts,
	}
	for _, step := range steps {
		if err := step(&cfg, fv); err != nil {
			return cfg, err
		}
	}
	cfg.DiscoveryOpts, err = keyValues(fv, "discovery-opt")
	return cfg, err
}

func manageScheduling(cfg *manage.Config, fv values) error {
	cfg.Strategy = fv.String("strategy")
	if cfg.Strategy == "binpacking" {
		cfg.Strategy = "binpack"
	}
	if !oneOf(cfg.Strategy, strategies) {
		return usagef("strategy %q not supported: use %s", fv.String("strategy"), quoteAll(strategies))
	}
	for _, f := range fv.List("filter") {
		if !oneOf(f, filterNames) {
			return usagef("filter %q not supported: use %s", f, quoteAll(filterNames))
		}
	}
	cfg.Filters = fv.List("filter")
	if c := fv.String("cluster-driver"); c != "swarm" {
		return usagef(msgClusterDriver, c)
	}
	return nil
}

func manageHosts(cfg *manage.Config, fv values) error {
	for _, h := range fv.List("host") {
		switch {
		case strings.HasPrefix(h, "unix://") && len(h) > len("unix://"):
		case strings.HasPrefix(h, "tcp://") && validListen(strings.TrimPrefix(h, "tcp://")):
		case !strings.Contains(h, "://") && validListen(h):
			h = "tcp://" + h
		default:
			return usagef("invalid --host %q: use tcp://host:port or unix:///path", h)
		}
		cfg.Hosts = append(cfg.Hosts, h)
	}
	return nil
}

func manageTiming(cfg *manage.Config, fv values) error {
	var err error
	if cfg.Heartbeat, err = duration(fv, "heartbeat"); err != nil {
		return err
	}
	if cfg.Heartbeat < time.Second {
		return usagef(msgHeartbeatMin)
	}
	if cfg.EngineRefreshMin, err = duration(fv, "engine-refresh-min-interval"); err != nil {
		return err
	}
	if cfg.EngineRefreshMin <= 0 {
		return usagef(msgRefreshMin)
	}
	if cfg.EngineRefreshMax, err = duration(fv, "engine-refresh-max-interval"); err != nil {
		return err
	}
	if cfg.EngineRefreshMax < cfg.EngineRefreshMin {
		return usagef(msgRefreshMax)
	}
	n, err := strconv.Atoi(fv.String("engine-failure-retry"))
	if err != nil || n <= 0 {
		return usagef(msgFailureRetry)
	}
	cfg.EngineFailureRetry = n
	if fv.String("engine-refresh-retry") != "3" {
		return usagef(msgRefreshRetry)
	}
	return nil
}

func manageReplication(cfg *manage.Config, fv values) error {
	var err error
	cfg.Replication, cfg.Advertise = fv.Bool("replication"), fv.String("advertise")
	if cfg.ReplicationTTL, err = duration(fv, "replication-ttl"); err != nil {
		return err
	}
	if cfg.ReplicationTTL <= 0 {
		return usagef(msgReplicationTTL)
	}
	if cfg.Replication && cfg.Advertise == "" {
		return usagef(msgReplicationAddr)
	}
	if cfg.Advertise != "" && !validAdvertise(cfg.Advertise) {
		return usagef(msgAdvertiseForm)
	}
	return nil
}

func manageTLS(cfg *manage.Config, fv values) error {
	t, err := tlsFlags(fv)
	if err != nil {
		return err
	}
	cfg.TLS = t
	e := manage.TLSConfig{CACert: fv.String("engine-tlscacert"), Cert: fv.String("engine-tlscert"), Key: fv.String("engine-tlskey")}
	if e.CACert != "" || e.Cert != "" || e.Key != "" {
		if (e.Cert == "") != (e.Key == "") {
			return usagef("--engine-tlscert and --engine-tlskey must be given together")
		}
		e.Enabled, e.Verify = true, e.CACert != ""
		cfg.EngineTLS = e
	}
	return nil
}

func manageClusterOpts(cfg *manage.Config, fv values) error {
	opts, err := keyValues(fv, "cluster-opt")
	if err != nil {
		return err
	}
	cfg.ClusterOpts = opts
	for k, v := range opts {
		switch k {
		case "swarm.overcommit":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return usagef("invalid swarm.overcommit %q: a number such as 0.05 is expected", v)
			}
			if f <= -1 {
				return usagef(msgOvercommit, f)
			}
			cfg.Overcommit = f
		case "swarm.createretry":
			n, err := strconv.Atoi(v)
			if err != nil {
				return usagef("invalid swarm.createretry %q: a whole number is expected", v)
			}
			if n < 0 {
				return usagef(msgCreateRetry, n)
			}
			cfg.CreateRetry = n
		default:
			return usagef("unsupported --cluster-opt %q: use swarm.overcommit or swarm.createretry", k)
		}
	}
	return nil
}

// validListen accepts host:port and :port (all interfaces), as the original's -H did.
func validListen(addr string) bool {
	if strings.HasPrefix(addr, ":") {
		return validAdvertise("0.0.0.0" + addr)
	}
	return validAdvertise(addr)
}
