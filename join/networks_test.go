package join

import (
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestClusterNetworksRefuseWhatTheyCannotServe(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Discovery: "etcd://10.0.0.1:2379/swarm", Advertise: "10.0.0.5:2375", PluginDir: t.TempDir()}, "needs consul:// discovery"},
		{Config{Discovery: "consul://10.0.0.1:8500/swarm", Advertise: "node1:2375", PluginDir: t.TempDir()}, "IPv4 address and port"},
		{Config{Discovery: "consul://10.0.0.1:8500/swarm", Advertise: "[fd00::5]:2375", PluginDir: t.TempDir()}, "IPv4 address and port"},
	}
	for _, c := range cases {
		_, _, err := startNetworks(context.Background(), c.cfg, nil, slog.Default())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error containing %q", c.cfg, err, c.want)
		}
	}
}
