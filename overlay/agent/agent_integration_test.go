//go:build integration

package agent_test

import (
	"context"
	"encoding/json"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"swarm/internal/clustertest"
	"swarm/internal/testbed"
	"swarm/overlay/dataplane"
	"swarm/overlay/netstate"
	"swarm/overlay/plugin"
)

const prefix = "agenttest"

// hosts starts engines and Consul, and a `swarm join --plugin-dir` beside each engine; it returns the bed and
// the networks' store.
func hosts(t *testing.T, n int) (*testbed.Bed, *netstate.Store, *api.Client) {
	t.Helper()
	bed := testbed.Start(t, testbed.Options{Engines: n, Consul: true})
	bin := testbed.BuildBinary(t, "swarm/cmd/swarm")
	disc := "consul://" + bed.ConsulAddr + "/" + prefix
	for _, e := range bed.Engines {
		clustertest.StartJoinIn(t, e.Netns, bin, e.Addr, disc, "--plugin-dir="+e.PluginDir)
	}
	for _, e := range bed.Engines {
		sock := filepath.Join(e.PluginDir, plugin.Name+".sock")
		if err := clustertest.WaitFor(20*time.Second, func() error { _, err := os.Stat(sock); return err }); err != nil {
			t.Fatalf("the join beside %s never served its plugin: %v", e.Name, err)
		}
	}
	client, err := api.NewClient(&api.Config{Address: bed.ConsulAddr})
	if err != nil {
		t.Fatal(err)
	}
	st, err := netstate.New(client, prefix, netstate.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return bed, st, client
}

// docker runs the docker CLI against engine e.
func docker(t *testing.T, e *testbed.Engine, args ...string) string {
	t.Helper()
	out, err := clustertest.Docker("tcp://"+e.Addr, nil, "", args...)
	if err != nil {
		t.Fatalf("docker -H %s %s: %v\n%s", e.Name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// engineNetwork makes the engine's copy of cluster network n, as the manager does.
func engineNetwork(t *testing.T, e *testbed.Engine, n *netstate.Network) {
	t.Helper()
	opt := "swarm.network.id=" + n.ID
	docker(t, e, "network", "create", "-d", plugin.Name, "--ipam-driver", plugin.Name, "--ipam-opt", opt, "-o", opt,
		"--subnet", n.Subnet, "--gateway", n.Gateway, n.Name)
}

// vxlanPackets is what the VXLAN device of vni on e has sent and received.
func vxlanPackets(t *testing.T, e *testbed.Engine, vni uint32) (tx, rx uint64) {
	t.Helper()
	out, err := osexec.Command("ip", "-n", e.Netns, "-s", "-j", "link", "show", "dev", dataplane.VXLANName(vni)).Output()
	if err != nil {
		t.Fatalf("no VXLAN device %s on %s: %v", dataplane.VXLANName(vni), e.Name, err)
	}
	var links []struct {
		Stats struct {
			RX struct{ Packets uint64 } `json:"rx"`
			TX struct{ Packets uint64 } `json:"tx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		t.Fatalf("reading %s: %v %s", dataplane.VXLANName(vni), err, out)
	}
	return links[0].Stats.TX.Packets, links[0].Stats.RX.Packets
}

// Two hosts, one cluster network: a container on node-1 reaches one on node-0 by its address, over VXLAN; when
// both leave and the network is removed, nothing is left in Consul, the kernel or the engines.
func TestContainersOnTwoHostsTalkOverTheClusterNetwork(t *testing.T) {
	bed, st, client := hosts(t, 2)
	t.Cleanup(func() {
		if t.Failed() {
			dumpKernel(t, bed)
		}
	})
	ctx := context.Background()
	n, err := st.Create(ctx, netstate.Spec{Name: "eg1", Attachable: true})
	if err != nil {
		t.Fatal(err)
	}
	e0, e1 := bed.Engines[0], bed.Engines[1]
	engineNetwork(t, e0, n)
	engineNetwork(t, e1, n)
	docker(t, e0, "run", "-d", "--name", "http", "--network", "eg1", "busybox", "httpd", "-f", "-p", "8080", "-h", "/etc")
	ip := docker(t, e0, "inspect", "-f", "{{(index .NetworkSettings.Networks \"eg1\").IPAddress}}", "http")
	if !strings.HasPrefix(ip, strings.TrimSuffix(n.Subnet, "0/24")) {
		t.Fatalf("http has %q on eg1, want an address of %s", ip, n.Subnet)
	}
	tx0, rx0 := vxlanPackets(t, e0, n.VNI)
	out := docker(t, e1, "run", "--rm", "--network", "eg1", "busybox", "sh", "-c",
		"ping -c1 -W2 "+ip+" >/dev/null && wget -qO- http://"+ip+":8080/hostname")
	if id := docker(t, e0, "inspect", "-f", "{{.Config.Hostname}}", "http"); out != id {
		t.Fatalf("wget from node-1 got %q, want http's hostname %q", out, id)
	}
	tx1, rx1 := vxlanPackets(t, e0, n.VNI)
	if tx1 <= tx0 || rx1 <= rx0 {
		t.Fatalf("node-0's VXLAN device sent %d and received %d packets meanwhile: the traffic did not cross as VXLAN", tx1-tx0, rx1-rx0)
	}
	docker(t, e0, "rm", "-f", "http")
	docker(t, e0, "network", "rm", "eg1")
	docker(t, e1, "network", "rm", "eg1")
	if err := st.Remove(ctx, n.ID); err != nil {
		t.Fatalf("removing the network once its containers left: %v", err)
	}
	nothingLeft(t, bed, client)
}

// dumpKernel logs each host's cluster-network devices and forwarding entries.
func dumpKernel(t *testing.T, bed *testbed.Bed) {
	for _, e := range bed.Engines {
		for _, args := range [][]string{{"neigh"}} {
			out, _ := osexec.Command("ip", append([]string{"-n", e.Netns}, args...)...).CombinedOutput()
			t.Logf("%s: ip %s:\n%s", e.Name, strings.Join(args, " "), out)
		}
		for _, cmd := range [][]string{{"bridge", "fdb", "show", "dev", "swvx4096"}, {"iptables", "-L", "FORWARD", "-v", "-n"},
			{"sysctl", "net.bridge.bridge-nf-call-iptables"}} {
			out, _ := osexec.Command("nsenter", append([]string{"--net=/var/run/netns/" + e.Netns}, cmd...)...).CombinedOutput()
			t.Logf("%s: %s:\n%s", e.Name, strings.Join(cmd, " "), out)
		}
	}
}

// run runs a command and returns its combined output.
func run(name string, args ...string) (string, error) {
	out, err := osexec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// nothingLeft checks that no cluster network left anything: no key in Consul but the generation and the
// removals' records, no copy on an engine, no bridge, VXLAN device or veth on a host.
func nothingLeft(t *testing.T, bed *testbed.Bed, client *api.Client) {
	t.Helper()
	keys, _, err := client.KV().Keys(prefix+"/networks/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !strings.HasSuffix(k, "/gen") && !strings.Contains(k, "/removed/") { // a removal's record stays a day
			t.Errorf("left in Consul: %s", k)
		}
	}
	for _, e := range bed.Engines {
		if got := docker(t, e, "network", "ls", "-q", "--filter", "driver=swarmnet"); got != "" {
			t.Errorf("%s keeps a copy: %s", e.Name, got)
		}
		links, _ := run("ip", "-n", e.Netns, "-o", "link", "show")
		for _, p := range []string{dataplane.VXLANPrefix, dataplane.BridgePrefix, dataplane.HostVethPrefix} {
			if strings.Contains(links, ": "+p) {
				t.Errorf("%s keeps a %s device:\n%s", e.Name, p, links)
			}
		}
	}
}
