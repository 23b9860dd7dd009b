//go:build integration

package pipework_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"swarm/internal/clustertest"
	"swarm/internal/testbed"
)

type bedRun struct {
	t   *testing.T
	bin string
	bed *testbed.Bed
}

// docker runs the CLI against engine i.
func (b *bedRun) docker(i int, args ...string) string {
	b.t.Helper()
	out, err := clustertest.Docker("tcp://"+b.bed.Engines[i].Addr, nil, "", args...)
	if err != nil {
		b.t.Fatal(err)
	}
	return out
}

// pipework runs `swarm pipework` against engine i's Docker API, in netns (the host's when empty).
func (b *bedRun) pipework(i int, netns string, args ...string) (string, error) {
	cmdline := append([]string{b.bin, "pipework", "--docker-host", "tcp://" + b.bed.Engines[i].Addr}, args...)
	if netns != "" {
		cmdline = append([]string{"nsenter", "--net=/var/run/netns/" + netns}, cmdline...)
	}
	out, err := exec.Command(cmdline[0], cmdline[1:]...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (b *bedRun) ok(i int, netns string, args ...string) {
	b.t.Helper()
	if out, err := b.pipework(i, netns, args...); err != nil {
		b.t.Fatalf("pipework %v: %v: %s", args, err, out)
	}
}

func hostLinks(t *testing.T) string {
	out, err := exec.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 1 {
			names = append(names, strings.TrimSuffix(strings.Split(f[1], "@")[0], ":"))
		}
	}
	return strings.Join(names, " ")
}

func TestPipeworkOnTheBed(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{Engines: 2})
	b := &bedRun{t: t, bin: testbed.SwarmBinary(t), bed: bed}
	br := fmt.Sprintf("brpw%d", bed.Slot)
	lan := fmt.Sprintf("10.98.%d", bed.Slot)
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", br).Run()
		exec.Command("iptables", "-D", "FORWARD", "-i", br, "-o", br, "-j", "ACCEPT").Run()
	})
	for _, c := range []string{"c1", "c2", "c3"} {
		b.docker(0, "run", "-d", "--name", c, "busybox", "sleep", "1d")
	}

	// Bridge mode: the bridge is created, two containers reach each other by their fixed IPs.
	b.ok(0, "", br, "c1", lan+".2/24")
	exec.Command("iptables", "-I", "FORWARD", "-i", br, "-o", br, "-j", "ACCEPT").Run()
	b.ok(0, "", br, "c2", lan+".3/24")
	b.docker(0, "exec", "c1", "ping", "-c", "1", "-W", "3", lan+".3")
	if out := b.docker(0, "exec", "c2", "ip", "-o", "-4", "addr", "show", "eth1"); !strings.Contains(out, lan+".3/24") {
		t.Fatalf("c2 eth1: %s", out)
	}

	// The same call again changes nothing.
	before := b.docker(0, "exec", "c1", "ip", "-o", "link")
	hostBefore := hostLinks(t)
	b.ok(0, "", br, "c1", lan+".2/24")
	if after := b.docker(0, "exec", "c1", "ip", "-o", "link"); after != before || hostLinks(t) != hostBefore {
		t.Fatalf("second identical attach changed something:\n%s\n%s", before, after)
	}

	// A clash on the container's interface name fails and leaves nothing on the host.
	out, err := b.pipework(0, "", br, "-i", "eth0", "c1", lan+".9/24")
	if err == nil || !strings.Contains(out, "eth0 already exists in container") {
		t.Fatalf("clash: %v %s", err, out)
	}
	if hostLinks(t) != hostBefore {
		t.Fatalf("a failed attach left links on the host:\n%s\n%s", hostBefore, hostLinks(t))
	}

	// With a gateway the default route is replaced; detach restores the previous one.
	route := b.docker(0, "exec", "c3", "ip", "route", "show", "default")
	b.ok(0, "", br, "-i", "eth2", "c3", lan+".12/24@"+lan+".1")
	if got := b.docker(0, "exec", "c3", "ip", "route", "show", "default"); !strings.Contains(got, "via "+lan+".1 dev eth2") {
		t.Fatalf("default route after attach: %s", got)
	}
	b.ok(0, "", "detach", "c3", "-i", "eth2")
	if got := b.docker(0, "exec", "c3", "ip", "route", "show", "default"); got != route {
		t.Fatalf("default route after detach %q, want %q", got, route)
	}

	// --wait inside a container returns once the address is up.
	b.docker(0, "cp", b.bin, "c3:/swarm")
	wait := exec.Command("docker", "-H", "tcp://"+bed.Engines[0].Addr, "exec", "c3", "/swarm", "pipework", "--wait", "-i", "eth5", "--timeout", "30s")
	if err := wait.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	b.ok(0, "", br, "-i", "eth5", "c3", lan+".15/24")
	done := make(chan error, 1)
	go func() { done <- wait.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("--wait: %v", err)
		}
	case <-time.After(20 * time.Second):
		wait.Process.Kill()
		t.Fatal("--wait did not return after the address was set")
	}

	// Macvlan on each host's eth0 (the seed article): containers on node-0 and node-1 reach each other.
	b.docker(0, "run", "-d", "--name", "ma", "busybox", "sleep", "1d")
	b.docker(1, "run", "-d", "--name", "mb", "busybox", "sleep", "1d")
	ipA, ipB := fmt.Sprintf("10.99.%d.150", bed.Slot), fmt.Sprintf("10.99.%d.151", bed.Slot)
	b.ok(0, bed.Engines[0].Netns, "eth0", "ma", ipA+"/24")
	b.ok(1, bed.Engines[1].Netns, "eth0", "mb", ipB+"/24")
	b.docker(0, "exec", "ma", "ping", "-c", "1", "-W", "3", ipB)
	b.docker(1, "exec", "mb", "ping", "-c", "1", "-W", "3", ipA)

	// Bad input: a clear one-line error and the usage exit code.
	out, err = b.pipework(0, "", br, "c1", "10.0.0.1")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(out, "should include a netmask") {
		t.Fatalf("bad address: %v %s", err, out)
	}
	out, err = b.pipework(0, "", br, "nosuchcontainer", "10.0.0.1/24")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("missing container: %v %s", err, out)
	}
}

// DHCP against a busybox udhcpd the test runs on a host bridge: the container's interface gets a lease from the
// pool, renews it (20 s leases), and the client ends once the container is gone.
func TestPipeworkDHCP(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{Engines: 1})
	b := &bedRun{t: t, bin: testbed.SwarmBinary(t), bed: bed}
	br, net := fmt.Sprintf("brdh%d", bed.Slot), fmt.Sprintf("10.97.%d", bed.Slot)
	for _, c := range [][]string{{"link", "add", br, "type", "bridge"}, {"addr", "add", net + ".1/24", "dev", br}, {"link", "set", br, "up"}} {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", c, err, out)
		}
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", br).Run() })
	dir := t.TempDir()
	conf := fmt.Sprintf("start %[1]s.100\nend %[1]s.120\ninterface %[2]s\nlease_file %[3]s/leases\npidfile %[3]s/pid\n"+
		"min_lease 10\noption subnet 255.255.255.0\noption router %[1]s.1\noption lease 20\n", net, br, dir)
	if err := os.WriteFile(dir+"/udhcpd.conf", []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	server := exec.Command("busybox", "udhcpd", "-f", dir+"/udhcpd.conf")
	var serverLog strings.Builder
	server.Stdout, server.Stderr = &serverLog, &serverLog
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Process.Kill(); server.Wait() })

	id := b.docker(0, "run", "-d", "--name", "dh", "busybox", "sleep", "1d")
	b.ok(0, "", br, "dh", "dhcp")
	out := b.docker(0, "exec", "dh", "ip", "-4", "-o", "addr", "show", "eth1")
	if !strings.Contains(out, " "+net+".1") { // an address from the pool, 10.97.K.100-120
		t.Fatalf("eth1 after dhcp: %q", out)
	}
	if got := b.docker(0, "exec", "dh", "ip", "route", "show", "default"); !strings.Contains(got, "via "+net+".1 dev eth1") {
		t.Fatalf("default route from the lease: %q", got)
	}
	clientLog := "/run/swarm-pipework/" + id + "/eth1.log"
	err := clustertest.WaitFor(30*time.Second, func() error {
		data, _ := os.ReadFile(clientLog)
		if n := strings.Count(string(data), "obtained"); n < 2 {
			return fmt.Errorf("%d leases so far:\n%s", n, data)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the lease was not renewed: %v\nserver: %s", err, serverLog.String())
	}
	b.docker(0, "rm", "-f", "dh")
	err = clustertest.WaitFor(10*time.Second, func() error {
		if out, _ := exec.Command("pgrep", "-f", "udhcpc -f -i eth1 -x hostname:dh").Output(); len(out) > 0 {
			return fmt.Errorf("udhcpc still runs: %s", out)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
