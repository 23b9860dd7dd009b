//go:build integration

package pipework_test

import (
	"fmt"
	"net/http"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"swarm/discovery"
	"swarm/internal/clustertest"
	"swarm/internal/testbed"
	"swarm/lease"
)

// Fixed addresses through the manager: the label is leased in Consul at create and applied by the node's join.
func TestFixedAddressesThroughTheManager(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{Engines: 2, Consul: true})
	bin := testbed.SwarmBinary(t)
	disc := "consul://" + bed.ConsulAddr + "/swarm"
	for _, e := range bed.Engines {
		clustertest.StartJoinIn(t, e.Netns, bin, e.Addr, disc, "--pipework")
	}
	m := clustertest.StartManager(t, bin, disc, "--heartbeat=1s")
	if err := m.WaitHealthy(2, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	d := func(args ...string) (string, error) { return m.Docker(nil, args...) }
	ok := func(args ...string) string {
		t.Helper()
		out, err := d(args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	hasAddr := func(name, ip string) {
		t.Helper()
		err := clustertest.WaitFor(20*time.Second, func() error {
			out, err := d("exec", name, "ip", "-4", "-o", "addr", "show", "eth1")
			if err == nil && !strings.Contains(out, " "+ip+"/") {
				err = fmt.Errorf("eth1 reads %q", out)
			}
			return err
		})
		if err != nil {
			t.Fatalf("%s never got %s: %v", name, ip, err)
		}
	}
	ip := fmt.Sprintf("10.99.%d.150", bed.Slot)
	label := "com.docker.swarm.pipework=eth0 " + ip + "/24"
	ok("run", "-d", "--name", "fixed1", "--label", label, "busybox", "sleep", "1d")
	hasAddr("fixed1", ip)
	if out, err := exec.Command("busybox", "ping", "-c", "1", "-W", "3", ip).CombinedOutput(); err != nil {
		t.Fatalf("the host cannot reach %s: %s", ip, out)
	}
	ok("restart", "-t", "1", "fixed1")
	hasAddr("fixed1", ip)

	_, err := d("run", "-d", "--name", "fixed2", "--label", label, "busybox", "sleep", "1d")
	if err == nil || !strings.Contains(err.Error(), "address "+ip+" is already held by container fixed1") {
		t.Fatalf("a second claim on %s: %v", ip, err)
	}
	if out := ok("ps", "-a", "-q", "--filter", "name=fixed2"); out != "" {
		t.Fatalf("the refused create left a container: %q", out)
	}
	ok("rm", "-f", "fixed1")
	leaseURL := "http://" + bed.ConsulAddr + "/v1/kv/swarm/pipework/leases/" + ip
	if err := clustertest.WaitFor(10*time.Second, func() error { return gone(leaseURL) }); err != nil {
		t.Fatalf("the lease of %s outlived its container: %v", ip, err)
	}
	ok("run", "-d", "--name", "fixed2", "--label", label, "busybox", "sleep", "1d")
	hasAddr("fixed2", ip)

	// A pool hands 20 containers 20 distinct addresses, each applied on its node.
	subnet := fmt.Sprintf("10.99.%d", bed.Slot)
	if out, err := exec.Command(bin, "pipework", "pool", "add", disc, "lan", subnet+".0/24",
		subnet+".200-"+subnet+".230").CombinedOutput(); err != nil {
		t.Fatalf("pool add: %v: %s", err, out)
	}
	if out, _ := exec.Command(bin, "pipework", "pool", "ls", disc).CombinedOutput(); !strings.Contains(string(out), "lan") {
		t.Fatalf("pool ls: %s", out)
	}
	if _, err := d("run", "-d", "--label", "com.docker.swarm.pipework=eth0 pool:nosuch", "busybox", "true"); err == nil ||
		!strings.Contains(err.Error(), "no pool named nosuch") {
		t.Fatalf("a create from a missing pool: %v", err)
	}
	seen := map[string]string{}
	for i := 0; i < 20; i++ {
		name := fmt.Sprintf("pooled%d", i)
		ok("run", "-d", "--name", name, "--label", "com.docker.swarm.pipework=eth0 pool:lan", "busybox", "sleep", "1d")
		got := ok("inspect", "-f", `{{index .Config.Labels "com.docker.swarm.pipework"}}`, name)
		addr := strings.TrimSuffix(strings.TrimPrefix(got, "eth0 "), "/24")
		if prev, dup := seen[addr]; dup {
			t.Fatalf("%s and %s both got %s", prev, name, addr)
		}
		seen[addr] = name
	}
	var addrs []string
	for addr, name := range seen {
		hasAddr(name, addr)
		addrs = append(addrs, addr)
	}
	sort.Strings(addrs)
	t.Logf("pool lan gave %d distinct addresses: %s", len(addrs), strings.Join(addrs, " "))
	// The store lists exactly these leases (what the manager's sweep reads), each with its holder.
	kv, prefix, err := discovery.ConsulClient(disc, discovery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	leases, err := lease.New(kv.KV(), prefix).Leases()
	if err != nil || len(leases) != len(seen)+1 {
		t.Fatalf("Leases(): %d leases, %v; want %d", len(leases), err, len(seen)+1)
	}
	for _, l := range leases {
		if name, ok := seen[l.IP.String()]; l.IP.String() != ip && (!ok || l.Holder.Name != name) {
			t.Fatalf("lease %s held by %+v; want %q", l.IP, l.Holder, name)
		}
	}

	// A container removed while no manager watched: the next primary's sweep frees its address (two sweeps
	// 30 s apart must find it gone).
	m.Cmd.Process.Kill()
	m.Cmd.Wait()
	for _, e := range bed.Engines {
		clustertest.Docker("tcp://"+e.Addr, nil, "", "rm", "-f", "fixed2")
	}
	start := time.Now()
	m2 := clustertest.StartManager(t, bin, disc, "--heartbeat=1s")
	if err := m2.WaitHealthy(2, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := clustertest.WaitFor(100*time.Second, func() error { return gone(leaseURL) }); err != nil {
		t.Fatalf("the lease of fixed2, removed behind the managers' backs, was never swept: %v", err)
	}
	t.Logf("lease of a container removed while no manager ran released %.0f s after the manager started", time.Since(start).Seconds())
	if l, _ := lease.New(kv.KV(), prefix).Leases(); len(l) != len(seen) {
		t.Fatalf("the sweep released %d leases; want only fixed2's", len(seen)+1-len(l))
	}
}

func gone(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
