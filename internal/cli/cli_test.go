package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"swarm/internal/tlsfiles"
	"swarm/join"
	"swarm/list"
	"swarm/manage"
)

// captured records what a command line handed to the packages.
type captured struct {
	manage   *manage.Config
	join     *join.Config
	list     *list.Config
	pipework []string
}

func fakeRunners(c *captured) runners {
	return runners{
		manage:   func(_ context.Context, cfg manage.Config) error { c.manage = &cfg; return nil },
		join:     func(_ context.Context, cfg join.Config) error { c.join = &cfg; return nil },
		list:     func(_ context.Context, cfg list.Config) error { c.list = &cfg; return nil },
		pipework: func(_ context.Context, a []string, _, _ io.Writer) error { c.pipework = a; return nil },
	}
}

func runLine(t *testing.T, env map[string]string, line ...string) (*captured, string, error) {
	t.Helper()
	var out bytes.Buffer
	c := &captured{}
	e := Env{Program: "swarm", Getenv: func(k string) string { return env[k] }, Stdout: &out, Stderr: io.Discard}
	err := run(context.Background(), e, line, fakeRunners(c))
	return c, out.String(), err
}

func TestValidationMessages(t *testing.T) {
	tests := []struct {
		line []string
		want string
	}{
		{[]string{"join", "consul://127.0.0.1:8500/x"}, "missing mandatory --advertise flag"},
		{[]string{"join", "--advertise", "10.0.0.1", "consul://c:8500"}, "--advertise should be of the form ip:port or hostname:port"},
		{[]string{"join", "--advertise", "10.0.0.1:0", "consul://c:8500"}, "--advertise should be of the form ip:port or hostname:port"},
		{[]string{"join", "--advertise", "10.0.0.1:70000", "consul://c:8500"}, "--advertise should be of the form ip:port or hostname:port"},
		{[]string{"join", "--advertise=h:2375", "--heartbeat=500ms", "consul://c:8500"}, "--heartbeat should be at least one second"},
		{[]string{"join", "--advertise=h:2375", "--heartbeat=10s", "--ttl=10s", "consul://c:8500"}, "--ttl must be strictly superior to the heartbeat value"},
		{[]string{"join", "--advertise=h:2375", "--delay=-1s", "consul://c:8500"}, "--delay should not be a negative number"},
		{[]string{"join", "--advertise=h:2375", "--ttl=soon", "consul://c:8500"}, `invalid --ttl "soon": a duration such as 10s, 1m or 500ms is expected`},
		{[]string{"join", "--advertise=h:2375"}, "discovery required to join a cluster. See 'swarm join --help'."},
		{[]string{"join", "--advertise=h:2375", "--discovery-opt", "kv.path", "consul://c:8500"}, `invalid --discovery-opt "kv.path": key=value expected`},
		{[]string{"join", "--advertise=h:2376", "--tls", "consul://c:8500"}, "--tlscert and --tlskey must be provided when using --tls"},
		{[]string{"join", "--advertise=h:2376", "--tlsverify", "--tlscert=c", "--tlskey=k", "consul://c:8500"}, "--tlscacert must be provided when using --tlsverify"},
		{[]string{"join", "--advertise=h:2376", "--tlscacert=ca", "consul://c:8500"}, "--tlscert, --tlscacert and --tlskey must be used with --tls or --tlsverify"},
		{[]string{"join", "--advertise=h:2376", "--tlskey=k", "--pipework", "consul://c:8500"}, "--tlscert, --tlscacert and --tlskey must be used with --tls or --tlsverify"},
		{[]string{"join", "--advertise=h:2375", "--metrics-addr=9323", "consul://c:8500"}, `--metrics-addr must be host:port, not "9323"`},
		{[]string{"list"}, "discovery required to list a cluster. See 'swarm list --help'."},
		{[]string{"list", "--timeout=0s", "consul://c:8500"}, "--timeout should be a positive number"},
		{[]string{"list", "a:1", "b:2"}, `too many arguments: "a:1 b:2"; the only argument is the discovery URL. See 'swarm list --help'.`},
		{[]string{"manage"}, "discovery required to manage a cluster. See 'swarm manage --help'."},
		{[]string{"manage", "--strategy", "foo", "nodes://10.0.0.1:2375"}, `strategy "foo" not supported: use "spread", "binpack", "random"`},
		{[]string{"manage", "--filter", "bogus", "h:1"}, `filter "bogus" not supported: use "health", "port", "containerslots", "dependency", "affinity", "constraint", "whitelist"`},
		{[]string{"manage", "--heartbeat", "0s", "h:1"}, "--heartbeat should be at least one second"},
		{[]string{"manage", "--replication", "consul://c:8500"}, "--advertise address must be provided when using --leader-election"},
		{[]string{"manage", "--replication-ttl", "0s", "h:1"}, "--replication-ttl should be a positive number"},
		{[]string{"manage", "--tls", "h:1"}, "--tlscert and --tlskey must be provided when using --tls"},
		{[]string{"manage", "--tlsverify", "--tlscert=c", "--tlskey=k", "h:1"}, "--tlscacert must be provided when using --tlsverify"},
		{[]string{"manage", "--tlscert=c", "h:1"}, "--tlscert, --tlscacert and --tlskey must be used with --tls or --tlsverify"},
		{[]string{"manage", "--engine-tlscert=c", "h:1"}, "--engine-tlscert and --engine-tlskey must be given together"},
		{[]string{"manage", "--engine-refresh-min-interval=0s", "h:1"}, "min refresh interval should be a positive number"},
		{[]string{"manage", "--engine-refresh-min-interval=30s", "--engine-refresh-max-interval=10s", "h:1"}, "max refresh interval cannot be less than min refresh interval"},
		{[]string{"manage", "--engine-failure-retry=0", "h:1"}, "invalid failure retry count"},
		{[]string{"manage", "--engine-refresh-retry=5", "h:1"}, "--engine-refresh-retry is deprecated; use --engine-failure-retry"},
		{[]string{"manage", "-c", "mesos-experimental", "h:1"}, `unsupported cluster driver "mesos-experimental": only "swarm" is available`},
		{[]string{"manage", "--cluster-opt", "swarm.overcommit=-1", "h:1"}, "swarm.overcommit should be larger than -1, -1.000000 is invalid"},
		{[]string{"manage", "--cluster-opt", "swarm.overcommit=lots", "h:1"}, `invalid swarm.overcommit "lots": a number such as 0.05 is expected`},
		{[]string{"manage", "--cluster-opt", "swarm.createretry=-2", "h:1"}, "swarm.createretry can not be negative, -2 is invalid"},
		{[]string{"manage", "--cluster-opt", "swarm.bogus=1", "h:1"}, `unsupported --cluster-opt "swarm.bogus": use swarm.overcommit or swarm.createretry`},
		{[]string{"manage", "-H", "ftp://x", "h:1"}, `invalid --host "ftp://x": use tcp://host:port or unix:///path`},
		{[]string{"manage", "--nope", "h:1"}, "flag provided but not defined: --nope. See 'swarm manage --help'."},
		{[]string{"manage", "token://abc"}, tokenGone},
		{[]string{"create"}, tokenGone},
		{[]string{"-l", "loud", "manage", "h:1"}, `invalid --log-level "loud": use debug, info, warn, error, fatal or panic`},
		{[]string{"--log-format", "xml", "manage", "h:1"}, `invalid --log-format "xml": use text or json`},
		{[]string{"frobnicate"}, "'frobnicate' is not a swarm command. See 'swarm --help'."},
		{[]string{"help", "frobnicate"}, "no help topic for 'frobnicate'"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.line, " "), func(t *testing.T) {
			c, _, err := runLine(t, nil, tt.line...)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
			if c.manage != nil || c.join != nil || c.list != nil {
				t.Fatalf("a command ran despite the error: %+v", c)
			}
		})
	}
}

func TestManageParsesClassicLine(t *testing.T) {
	c, out, err := runLine(t, nil, "-l", "debug", "manage", "-H", "tcp://127.0.0.1:2377", "--heartbeat=1s", "-filter=health",
		"-filter", "port", "h1:2375,h2:2375", "--cluster-opt", "swarm.overcommit=0.5", "-cluster-opt=swarm.createretry=2",
		"--strategy", "binpacking", "--discovery-opt", "kv.path=a/b")
	if err != nil || out != "" {
		t.Fatalf("err=%v out=%q", err, out)
	}
	m := c.manage
	want := manage.Config{
		Hosts: []string{"tcp://127.0.0.1:2377"}, Discovery: "h1:2375,h2:2375", Heartbeat: time.Second,
		DiscoveryOpts: map[string]string{"kv.path": "a/b"}, Strategy: "binpack", Filters: []string{"health", "port"},
		ClusterOpts: map[string]string{"swarm.overcommit": "0.5", "swarm.createretry": "2"}, Overcommit: 0.5, CreateRetry: 2,
		ReplicationTTL: 20 * time.Second, EngineRefreshMin: 30 * time.Second, EngineRefreshMax: 60 * time.Second,
		EngineFailureRetry: 3, Logger: m.Logger,
	}
	if !reflect.DeepEqual(*m, want) {
		t.Fatalf("config\n got %+v\nwant %+v", *m, want)
	}
	if !m.Logger.Enabled(context.Background(), -4) {
		t.Fatal("-l debug did not enable debug logs")
	}
}

func TestManageDefaultsAndEnvironment(t *testing.T) {
	env := map[string]string{"SWARM_HOST": "tcp://0.0.0.0:4000,unix:///tmp/s.sock", "SWARM_DISCOVERY": "consul://c:8500/p",
		"SWARM_ADVERTISE": "10.0.0.5:4000"}
	c, _, err := runLine(t, env, "manage", "--replication")
	if err != nil {
		t.Fatal(err)
	}
	m := c.manage
	if !reflect.DeepEqual(m.Hosts, []string{"tcp://0.0.0.0:4000", "unix:///tmp/s.sock"}) || m.Discovery != "consul://c:8500/p" ||
		m.Advertise != "10.0.0.5:4000" || !m.Replication || m.Strategy != "spread" || len(m.Filters) != 7 || m.Overcommit != 0.05 {
		t.Fatalf("unexpected config %+v", m)
	}
	c, _, err = runLine(t, nil, "manage", "--tlsverify", "--tlscacert=ca", "--tlscert=c", "--tlskey=k", "h:1")
	if want := (manage.TLSConfig{Enabled: true, Verify: true, CACert: "ca", Cert: "c", Key: "k"}); err != nil || c.manage.TLS != want {
		t.Fatalf("manage --tlsverify: %v %+v", err, c.manage.TLS)
	}
	c, _, _ = runLine(t, map[string]string{"SWARM_HOST": ":2375"}, "m", "h:1")
	if !reflect.DeepEqual(c.manage.Hosts, []string{"tcp://:2375"}) {
		t.Fatalf("SWARM_HOST=:2375 gave %v", c.manage.Hosts)
	}
	c, _, _ = runLine(t, nil, "m", "h:1")
	if !reflect.DeepEqual(c.manage.Hosts, []string{"tcp://127.0.0.1:2375"}) || c.manage.Heartbeat != time.Minute {
		t.Fatalf("defaults: %+v", c.manage)
	}
}

func TestJoinAndList(t *testing.T) {
	c, _, err := runLine(t, nil, "j", "consul://c:8500/x", "--advertise", "10.0.0.1:2375", "--ttl", "10s", "--heartbeat", "2s", "-delay=3s")
	if err != nil {
		t.Fatal(err)
	}
	want := join.Config{Discovery: "consul://c:8500/x", DiscoveryOpts: map[string]string{}, Advertise: "10.0.0.1:2375",
		Heartbeat: 2 * time.Second, TTL: 10 * time.Second, Delay: 3 * time.Second, Logger: c.join.Logger}
	if !reflect.DeepEqual(*c.join, want) {
		t.Fatalf("join config %+v", *c.join)
	}
	c, _, err = runLine(t, nil, "join", "--advertise=10.0.0.1:2376", "--pipework", "--tlsverify", "--tlscacert=/c/ca.pem",
		"--tlscert=/c/cert.pem", "--tlskey=/c/key.pem", "consul://c:8500/x")
	wantTLS := tlsfiles.Files{Enabled: true, Verify: true, CACert: "/c/ca.pem", Cert: "/c/cert.pem", Key: "/c/key.pem"}
	if err != nil || !c.join.Pipework || c.join.TLS != wantTLS {
		t.Fatalf("join --tlsverify: %v %+v", err, c.join)
	}
	c, _, err = runLine(t, nil, "join", "--advertise=10.0.0.1:2376", "--tls", "--tlscert=/c/cert.pem", "--tlskey=/c/key.pem", "consul://c:8500/x")
	if wantTLS = (tlsfiles.Files{Enabled: true, Cert: "/c/cert.pem", Key: "/c/key.pem"}); err != nil || c.join.TLS != wantTLS {
		t.Fatalf("join --tls: %v %+v", err, c.join)
	}
	c, _, err = runLine(t, nil, "join", "--advertise=10.0.0.1:2375", "--metrics-addr=:9323", "consul://c:8500/x")
	if err != nil || c.join.MetricsAddr != ":9323" {
		t.Fatalf("join --metrics-addr: %v %+v", err, c.join)
	}
	c, out, err := runLine(t, nil, "join", "--print-mesh")
	if err != nil || c.join.PrintMesh == nil || c.join.Discovery != "" {
		t.Fatalf("join --print-mesh (no discovery, no advertise needed): %v %q %+v", err, out, c.join)
	}
	c, _, err = runLine(t, nil, "l", "--timeout=3s", "nodes://a:1,b:2")
	if err != nil || c.list.Timeout != 3*time.Second || c.list.Discovery != "nodes://a:1,b:2" || c.list.Out == nil {
		t.Fatalf("list: %v %+v", err, c.list)
	}
}

func TestHelpVersionAndPipework(t *testing.T) {
	_, out, err := runLine(t, nil, "--version")
	if err != nil || !strings.HasPrefix(out, "swarm version ") || !strings.Contains(out, "(") {
		t.Fatalf("version: %v %q", err, out)
	}
	for _, line := range [][]string{{"--help"}, {"help"}, {}, {"-h"}} {
		_, out, err = runLine(t, nil, line...)
		if err != nil || !strings.Contains(out, "manage, m") || !strings.Contains(out, "--log-level, -l") {
			t.Fatalf("%v: %v %q", line, err, out)
		}
	}
	c, out, err := runLine(t, nil, "-l", "debug", "manage", "-H", "tcp://127.0.0.1:2377", "--heartbeat=1s", "-filter=health", "h1:2375,h2:2375", "--help")
	if err != nil || c.manage != nil || !strings.Contains(out, "--engine-failure-retry value") {
		t.Fatalf("manage --help: %v %q", err, out)
	}
	_, out, _ = runLine(t, nil, "help", "join")
	if !strings.Contains(out, "--ttl value") || !strings.Contains(out, `(default: "180s")`) {
		t.Fatalf("help join: %q", out)
	}
	c, _, err = runLine(t, nil, "pipework", "br1", "-i", "eth1", "web", "10.0.0.2/24")
	if err != nil || !reflect.DeepEqual(c.pipework, []string{"br1", "-i", "eth1", "web", "10.0.0.2/24"}) {
		t.Fatalf("pipework args %v %v", err, c.pipework)
	}
	var got []string
	e := Env{Program: "/usr/local/bin/pipework", Getenv: func(string) string { return "" }, Stdout: io.Discard, Stderr: io.Discard}
	r := fakeRunners(&captured{})
	r.pipework = func(_ context.Context, a []string, _, _ io.Writer) error { got = a; return errors.New("x") }
	if err := run(context.Background(), e, []string{"--wait"}, r); err == nil || !reflect.DeepEqual(got, []string{"--wait"}) {
		t.Fatalf("pipework symlink: %v %v", err, got)
	}
}

func TestReferenceListsEveryFlag(t *testing.T) {
	var b bytes.Buffer
	Reference(&b)
	for _, c := range commands {
		for _, d := range c.Flags {
			if !strings.Contains(b.String(), "`"+flagSynopsis(d)+"`") {
				t.Errorf("reference lacks %s %s", c.Name, d.name())
			}
		}
	}
}

func TestReferenceFileIsCurrent(t *testing.T) {
	var b bytes.Buffer
	Reference(&b)
	got, err := os.ReadFile("../../docs/reference.md")
	if err != nil || !bytes.Equal(got, b.Bytes()) {
		t.Fatalf("docs/reference.md is stale or missing (%v): run `make docs`", err)
	}
}
