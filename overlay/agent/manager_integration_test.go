//go:build integration

package agent_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"swarm/internal/clustertest"
	"swarm/internal/testbed"
	"swarm/overlay/copies"
)

// cli runs the docker CLI against the manager and returns its output; want false expects a failure and returns
// its message.
func cli(t *testing.T, m *clustertest.Manager, want bool, args ...string) string {
	t.Helper()
	out, err := m.Docker(nil, args...)
	if (err == nil) != want {
		t.Fatalf("docker %s: err %v, want success %v\n%s", strings.Join(args, " "), err, want, out)
	}
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(out)
}

// manager starts a manager over bed's Consul and waits until it has every engine; it returns the manager and
// the swarm binary.
func manager(t *testing.T, bed *testbed.Bed) (*clustertest.Manager, string) {
	t.Helper()
	bin := testbed.BuildBinary(t, "swarm/cmd/swarm")
	m := clustertest.StartManager(t, bin, "consul://"+bed.ConsulAddr+"/"+prefix)
	if err := m.WaitHealthy(len(bed.Engines), 60*time.Second); err != nil {
		t.Fatal(err)
	}
	return m, bin
}

// The Docker CLI against the manager: an overlay network is made once for the cluster, containers on two
// hosts reach each other on it, it is shown once with the containers of every host, it is not removed while
// used, and once removed nothing is left; bad input is refused with the reason and changes nothing.
func TestOverlayNetworksThroughTheManagerWithTheDockerCLI(t *testing.T) {
	bed, _, client := hosts(t, 2)
	m, _ := manager(t, bed)
	id := cli(t, m, true, "network", "create", "-d", "overlay", "--attachable", "--label", "app=eg", "eg1")
	if ls := cli(t, m, true, "network", "ls", "--filter", "driver=overlay", "--format", "{{.Name}} {{.Scope}}"); ls != "eg1 swarm" {
		t.Fatalf("network ls shows %q, want eg1 once, scope swarm", ls)
	}
	for _, e := range bed.Engines {
		if got := docker(t, e, "network", "ls", "-q", "--filter", "name=^eg1$", "--filter", "driver=swarmnet"); got == "" {
			t.Fatalf("%s has no copy of eg1", e.Name)
		}
	}

	// An engine that lost (or never had) its copy gets it back from the primary.
	docker(t, bed.Engines[1], "network", "rm", "eg1")
	back := func() error {
		if docker(t, bed.Engines[1], "network", "ls", "-q", "--filter", "name=^eg1$", "--filter", "driver=swarmnet") == "" {
			return fmt.Errorf("node-1 has no copy of eg1 yet")
		}
		return nil
	}
	if err := clustertest.WaitFor(3*copies.Interval/2, back); err != nil {
		t.Fatal(err)
	}

	cli(t, m, true, "run", "-d", "--name", "http", "--network", "eg1", "--network-alias", "web", "-e", "constraint:node==node-0",
		"busybox", "httpd", "-f", "-p", "8080", "-h", "/etc")
	ip := cli(t, m, true, "inspect", "-f", "{{(index .NetworkSettings.Networks \"eg1\").IPAddress}}", "http")
	host := cli(t, m, true, "inspect", "-f", "{{.Config.Hostname}}", "http")
	// From node-1, by address, by name and by alias: the join of node-1 answers for node-0's container.
	out := cli(t, m, true, "run", "--rm", "--network", "eg1", "-e", "constraint:node==node-1", "busybox", "sh", "-c",
		"wget -qO- http://"+ip+":8080/hostname && nslookup http && wget -qO- http://web:8080/hostname")
	if strings.Count(out, host) != 2 || !strings.Contains(out, "Address: "+ip) {
		t.Fatalf("from node-1 (wget by address, nslookup http, wget by alias) got:\n%s\nwant %s twice and %s", out, host, ip)
	}
	cli(t, m, true, "run", "-d", "--name", "idle", "--network", "eg1", "-e", "constraint:node==node-1", "busybox", "sleep", "300")
	var inspected []struct {
		ID, Driver, Scope string
		Containers        map[string]struct{ Name string }
	}
	if err := json.Unmarshal([]byte(cli(t, m, true, "network", "inspect", "eg1")), &inspected); err != nil || len(inspected) != 1 {
		t.Fatalf("network inspect: %v", err)
	}
	names := map[string]bool{}
	for _, c := range inspected[0].Containers {
		names[c.Name] = true
	}
	if inspected[0].ID != id || inspected[0].Driver != "overlay" || !names["http"] || !names["idle"] {
		t.Fatalf("network inspect eg1: %+v, want ID %s, driver overlay, containers http (node-0) and idle (node-1)", inspected[0], id)
	}

	// Bad input is refused with the reason.
	subnet := cli(t, m, true, "network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", "eg1")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--subnet", subnet, "eg2"}, "network eg1"},
		{[]string{"-o", "color=blue", "eg2"}, `unknown driver option "color"`},
		{[]string{"eg1"}, "already exists"},
		{[]string{"--subnet", "10.200.0.0/30", "eg2"}, "too small"},
		{[]string{"--opt", "encrypted", "eg2"}, "not encrypted yet"},
		{[]string{"--ipv6", "eg2"}, "IPv4 only"},
	} {
		out := cli(t, m, false, append([]string{"network", "create", "-d", "overlay"}, c.args...)...)
		if !strings.Contains(out, c.want) {
			t.Errorf("network create %v: %q, want it to say %q", c.args, out, c.want)
		}
	}
	if ls := cli(t, m, true, "network", "ls", "--filter", "driver=overlay", "-q"); len(strings.Fields(ls)) != 1 {
		t.Fatalf("refused creates left networks: %q", ls)
	}

	if out := cli(t, m, false, "network", "rm", "eg1"); !strings.Contains(out, "active endpoints") {
		t.Fatalf("network rm while used: %q", out)
	}
	cli(t, m, true, "rm", "-f", "http", "idle")
	cli(t, m, true, "network", "rm", "eg1")
	if ls := cli(t, m, true, "network", "ls", "--filter", "driver=overlay", "-q"); ls != "" {
		t.Fatalf("network ls after rm: %q", ls)
	}
	nothingLeft(t, bed, client)
}
