//go:build integration

package agent_test

import (
	"fmt"
	"os"
	osexec "os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"swarm/internal/clustertest"
	"swarm/internal/testbed"
)

// stopJoin interrupts a join as an operator's restart does, and waits for it to exit.
func stopJoin(t *testing.T, cmd *osexec.Cmd) {
	t.Helper()
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the join did not stop within 10 s")
	}
}

var pingSummary = regexp.MustCompile(`(\d+) packets transmitted, (\d+) packets received`)

// A container on node-1 pings one on node-0 five times a second while node-0's join restarts and then Consul
// restarts without its data: at most a second's worth of replies is lost, and afterwards the state is back (the
// network, both endpoints and their addresses) so that a new container resolves and reaches the old one.
func TestConnectivityHoldsWhileAJoinAndConsulRestart(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{Engines: 2, Consul: true})
	bin := testbed.BuildBinary(t, "swarm/cmd/swarm")
	disc := "consul://" + bed.ConsulAddr + "/" + prefix
	var joins []*osexec.Cmd
	for _, e := range bed.Engines {
		joins = append(joins, clustertest.StartJoinIn(t, e.Netns, bin, e.Addr, disc, "--plugin-dir="+e.PluginDir))
	}
	m := clustertest.StartManager(t, bin, disc)
	if err := m.WaitHealthy(2, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := clustertest.WaitFor(20*time.Second, func() error {
		_, err := m.Docker(nil, "network", "create", "-d", "overlay", "eg1")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	id := cli(t, m, true, "network", "inspect", "-f", "{{.ID}}", "eg1")
	cli(t, m, true, "run", "-d", "--name", "pa", "--network", "eg1", "-e", "constraint:node==node-0", "busybox", "sleep", "600")
	ipA := cli(t, m, true, "inspect", "-f", "{{(index .NetworkSettings.Networks \"eg1\").IPAddress}}", "pa")
	const pings = 150 // 30 s at 0.2 s
	cli(t, m, true, "run", "-d", "--name", "pb", "--network", "eg1", "-e", "constraint:node==node-1", "busybox", "ping", "-c", strconv.Itoa(pings), "-i", "0.2", ipA)

	time.Sleep(5 * time.Second)
	stopJoin(t, joins[0])
	time.Sleep(time.Second)
	joins[0] = clustertest.StartJoinIn(t, bed.Engines[0].Netns, bin, bed.Engines[0].Addr, disc, "--plugin-dir="+bed.Engines[0].PluginDir)
	time.Sleep(6 * time.Second)
	bed.StopConsul(t)
	time.Sleep(2 * time.Second)
	bed.StartConsul(t)

	cli(t, m, true, "wait", "pb")
	logs := cli(t, m, true, "logs", "pb")
	got := pingSummary.FindStringSubmatch(logs)
	if got == nil {
		t.Fatalf("no ping summary in b's output:\n%s", logs)
	}
	sent, recv := atoi(got[1]), atoi(got[2])
	t.Logf("RESTARTS | join of node-0, then Consul without its data | %d pings at 0.2 s, %d replies, %d lost", sent, recv, sent-recv)
	if sent-recv > 5 {
		t.Errorf("%d of %d pings lost across the restarts (more than a second's worth)", sent-recv, sent)
	}

	// The state converges back: the network with its ID, and a's endpoint with its address, so that a new
	// container neither takes a's address nor fails to find a.
	if err := clustertest.WaitFor(30*time.Second, func() error {
		got, err := m.Docker(nil, "network", "inspect", "-f", "{{.ID}} {{len .Containers}}", "eg1")
		if err != nil || got != id+" 1" {
			return fmt.Errorf("eg1 is %q (%v), want %s with a's endpoint", got, err, id)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out := cli(t, m, true, "run", "--rm", "--network", "eg1", "-e", "constraint:node==node-1", "busybox", "sh", "-c",
		"ip -4 -o addr show eth0; ping -c1 -W2 pa")
	if strings.Contains(out, " "+ipA+"/") || !strings.Contains(out, "1 packets received") {
		t.Fatalf("a new container after the restarts:\n%s\nwant an address other than a's %s, and a reply from a", out, ipA)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
