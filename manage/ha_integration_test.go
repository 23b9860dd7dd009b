//go:build integration

package manage_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"swarm/internal/clustertest"
	"swarm/internal/testbed"
)

// haCluster starts 3 engines with joins and 3 replicated managers.
func haCluster(t *testing.T) (*testbed.Bed, []*clustertest.Manager) {
	t.Helper()
	bed := testbed.Start(t, testbed.Options{Engines: 3, Consul: true})
	bin := testbed.SwarmBinary(t)
	disc := "consul://" + bed.ConsulAddr + "/swarm"
	for _, e := range bed.Engines {
		clustertest.StartJoin(t, bin, e.Addr, disc)
	}
	var ms []*clustertest.Manager
	for i := 0; i < 3; i++ {
		addr := clustertest.FreeAddr(t)
		m := clustertest.StartManagerAt(t, bin, addr, disc, "--heartbeat=1s", "--replication", "--advertise", addr)
		ms = append(ms, m)
	}
	for _, m := range ms {
		if err := m.WaitHealthy(3, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	return bed, ms
}

// roles reads each live manager's role ("primary", "replica" or "" when it does not answer).
func roles(ms []*clustertest.Manager) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		b, err := m.Get("/info")
		if err != nil {
			continue
		}
		var info struct{ SystemStatus [][2]string }
		json.Unmarshal(b, &info)
		for _, kv := range info.SystemStatus {
			if kv[0] == "Role" {
				out[i] = kv[1]
			}
		}
	}
	return out
}

func primaryIndex(t *testing.T, ms []*clustertest.Manager, timeout time.Duration) int {
	t.Helper()
	idx := -1
	err := clustertest.WaitFor(timeout, func() error {
		idx = -1
		for i, r := range roles(ms) {
			if r == "primary" {
				if idx >= 0 {
					return fmt.Errorf("two primaries: %v", roles(ms))
				}
				idx = i
			}
		}
		if idx < 0 {
			return fmt.Errorf("no primary: %v", roles(ms))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// watchSplitBrain polls every manager's role until stop is closed and counts moments with two primaries.
func watchSplitBrain(ms []*clustertest.Manager, stop chan struct{}) *int {
	var n int
	var mu sync.Mutex
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			p := 0
			for _, r := range roles(ms) {
				if r == "primary" {
					p++
				}
			}
			if p > 1 {
				mu.Lock()
				n++
				mu.Unlock()
			}
		}
	}()
	return &n
}

func TestReplicationFailover(t *testing.T) {
	_, ms := haCluster(t)
	p := primaryIndex(t, ms, 20*time.Second)
	stop := make(chan struct{})
	split := watchSplitBrain(ms, stop)
	var replica *clustertest.Manager
	for i, m := range ms {
		if i != p {
			replica = m
		}
	}
	// Requests through a replica reach the primary, streams included.
	d := dockerFor(t, replica, nil)
	expect(t, "run via replica", d.ok("run", "--rm", "busybox", "echo", "via-replica"), "via-replica")
	d.ok("run", "-d", "--name", "ticker", "busybox", "sh", "-c", "for i in $(seq 1 6); do echo t$i; sleep 0.5; done")
	expect(t, "logs -f via replica", d.ok("logs", "-f", "ticker"), "t1\nt2\nt3\nt4\nt5\nt6")
	expectContains(t, "replica info", d.ok("info"), "Role: replica")

	// kill -9 of the primary: a replica is primary and serves docker run within 5 s.
	start := time.Now()
	ms[p].Cmd.Process.Signal(syscall.SIGKILL)
	ms[p].Cmd.Wait()
	alive := without(ms, p)
	np := failoverServes(t, alive, 10*time.Second)
	took := time.Since(start)
	t.Logf("FAILOVER kill -9: new primary serving docker run after %.2fs", took.Seconds())
	if took > 5*time.Second {
		t.Errorf("failover after kill -9 took %.2fs, want <= 5s", took.Seconds())
	}

	// SIGTERM of the new primary: the last manager takes over within 1 s.
	start = time.Now()
	alive[np].Cmd.Process.Signal(syscall.SIGTERM)
	last := without(alive, np)
	failoverServes(t, last, 10*time.Second)
	took = time.Since(start)
	t.Logf("FAILOVER SIGTERM: new primary serving docker run after %.2fs", took.Seconds())
	if took > time.Second+500*time.Millisecond { // the docker run itself takes a few hundred ms
		t.Errorf("failover after SIGTERM took %.2fs, want about 1s", took.Seconds())
	}
	close(stop)
	if *split > 0 {
		t.Errorf("two primaries observed %d times", *split)
	}
}

func without(ms []*clustertest.Manager, i int) []*clustertest.Manager {
	out := append([]*clustertest.Manager(nil), ms[:i]...)
	return append(out, ms[i+1:]...)
}

// failoverServes waits until one of ms is primary and a docker run through it succeeds; it returns its index.
func failoverServes(t *testing.T, ms []*clustertest.Manager, timeout time.Duration) int {
	t.Helper()
	idx := -1
	err := clustertest.WaitFor(timeout, func() error {
		for i, r := range roles(ms) {
			if r == "primary" {
				if _, err := ms[i].Docker(nil, "run", "--rm", "busybox", "true"); err != nil {
					return err
				}
				idx = i
				return nil
			}
		}
		return fmt.Errorf("no primary yet: %v", roles(ms))
	})
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func TestRescheduleOnNodeFailure(t *testing.T) {
	bed, m, joins := clusterWithJoins(t)
	d := dockerFor(t, m, nil)
	d.ok("run", "-d", "--name", "stay", "-e", "constraint:node==node-1", "busybox", "sleep", "1000")
	d.ok("run", "-d", "--name", "keep", "-e", "reschedule:on-node-failure", "-e", "constraint:node==~node-1", "busybox", "sleep", "1000")
	d.ok("run", "-d", "--name", "keeplabel", "-l", `com.docker.swarm.reschedule-policies=["on-node-failure"]`,
		"-e", "affinity:container==~stay", "busybox", "sleep", "1000")
	for _, c := range []string{"stay", "keep", "keeplabel"} {
		expect(t, c+" placement", d.ok("inspect", "-f", "{{.Node.Name}}", c), "node-1")
	}
	ids := map[string]string{}
	for _, c := range []string{"keep", "keeplabel"} {
		ids[c] = d.ok("inspect", "-f", `{{index .Config.Labels "com.docker.swarm.id"}}`, c)
	}
	bed.StopEngine(t, 1)
	joins[1].Process.Kill()
	start := time.Now()
	for c, swarmID := range ids {
		err := clustertest.WaitFor(15*time.Second-time.Since(start), func() error {
			out, err := m.Docker(nil, "inspect", "-f", "{{.Node.Name}} {{.State.Running}} {{index .Config.Labels \"com.docker.swarm.id\"}}", c)
			if err != nil {
				return err
			}
			if strings.HasPrefix(out, "node-1 ") || out != strings.Fields(out)[0]+" true "+swarmID {
				return fmt.Errorf("%s: %q", c, out)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("not rescheduled within 15 s: %v", err)
		}
	}
	t.Logf("RESCHEDULE: both containers running elsewhere with their swarm IDs %.2fs after the engine stopped", time.Since(start).Seconds())
	expectContains(t, "container without policy untouched", d.ok("ps", "-a", "--format", "{{.Names}}", "--filter", "name=stay"), "node-1/stay")
	bed.StartEngine(t, 1)
	joins[1] = clustertest.StartJoin(t, testbed.SwarmBinary(t), bed.Engines[1].Addr, "consul://"+bed.ConsulAddr+"/swarm")
	if err := m.WaitHealthy(3, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	for c, swarmID := range ids {
		err := clustertest.WaitFor(15*time.Second, func() error {
			out := d.ok("ps", "-a", "--format", "{{.Names}}", "--filter", "label=com.docker.swarm.id="+swarmID)
			if strings.Contains(out, "\n") || strings.HasPrefix(out, "node-1/") || !strings.HasSuffix(out, "/"+c) {
				return fmt.Errorf("copies of %s: %q", c, out)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("stale copy not removed: %v", err)
		}
	}
	expectContains(t, "stay back with its node", d.ok("ps", "-a", "--format", "{{.Names}}", "--filter", "name=stay"), "node-1/stay")
}

func TestConsulRestartUnderManagers(t *testing.T) {
	bed, ms := haCluster(t)
	primaryIndex(t, ms, 20*time.Second)
	bed.StopConsul(t)
	time.Sleep(3 * time.Second)
	for i, m := range ms {
		if _, err := m.Get("/_ping"); err != nil {
			t.Fatalf("manager %d died while Consul was down: %v", i, err)
		}
		if out, err := m.Docker(nil, "ps", "-a"); err != nil {
			t.Fatalf("manager %d cannot serve ps from its cache while Consul is down: %v %s", i, err, out)
		}
	}
	bed.StartConsul(t)
	primaryIndex(t, ms, 30*time.Second)
	for _, m := range ms {
		if err := m.WaitHealthy(3, 40*time.Second); err != nil {
			t.Fatal(err)
		}
		if m.Cmd.ProcessState != nil {
			t.Fatalf("a manager exited: %v", m.Cmd.ProcessState)
		}
	}
}

// kill -9 of the primary during a rolling update: a replica takes over and finishes it from what Consul and
// the engines say; no slot ever runs two tasks, and none is empty for long.
func TestRollingUpdateSurvivesPrimaryKill(t *testing.T) {
	bed, ms := haCluster(t)
	for _, e := range bed.Engines {
		if out, err := exec.Command("docker", "-H", "unix://"+e.Sock, "tag", "busybox:latest", "busybox:v2").CombinedOutput(); err != nil {
			t.Fatalf("tagging busybox:v2 on %s: %v: %s", e.Name, err, out)
		}
	}
	p := primaryIndex(t, ms, 20*time.Second)
	d := dockerFor(t, ms[p], nil)
	d.ok("service", "create", "--name", "web", "--replicas", "3", "--stop-grace-period", "1s",
		"--update-delay", "3s", "--update-monitor", "1s", "busybox", "sleep", "1d")
	d.ok("service", "update", "--detach", "--image", "busybox:v2", "web")
	// the first slot is replaced, then the update waits 3 s: kill the primary in that window
	err := clustertest.WaitFor(20*time.Second, func() error {
		out := d.ok("service", "ps", "--filter", "desired-state=running", "--format", "{{.Image}} {{.CurrentState}}", "web")
		if !strings.Contains(out, "busybox:v2 Running") {
			return fmt.Errorf("no new task running yet: %q", out)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	alive := without(ms, p)
	stop := make(chan struct{})
	worst := watchSlots(alive, stop)
	ms[p].Cmd.Process.Signal(syscall.SIGKILL)
	ms[p].Cmd.Wait()
	err = clustertest.WaitFor(60*time.Second, func() error {
		for _, m := range alive {
			out, err := m.Docker(nil, "service", "inspect", "--format", "{{.UpdateStatus.State}} {{.Spec.TaskTemplate.ContainerSpec.Image}}", "web")
			if err == nil && out == "completed busybox:v2" {
				return nil
			}
		}
		return fmt.Errorf("update not completed yet")
	})
	close(stop)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := alive[0].Docker(nil, "service", "ps", "--filter", "desired-state=running", "--format", "{{.Image}} {{.CurrentState}}", "web")
	if strings.Count(rows, "busybox:v2 Running") != 3 {
		t.Errorf("after the update: %q, want 3 tasks of busybox:v2 running", rows)
	}
	w := <-worst
	t.Logf("failover during update: longest empty slot %v, most tasks in one slot %d", w.empty.Round(100*time.Millisecond), w.most)
	if w.most > 1 {
		t.Errorf("a slot ran %d tasks at once", w.most)
	}
	if w.empty > 15*time.Second {
		t.Errorf("a slot ran no task for %v", w.empty)
	}
}

type slotWorst struct {
	empty time.Duration
	most  int
}

// watchSlots polls the task containers of web (through the engines' view in the managers) until stop closes,
// and reports the longest time a slot had no running task and the most running tasks one slot had.
func watchSlots(ms []*clustertest.Manager, stop chan struct{}) chan slotWorst {
	out := make(chan slotWorst, 1)
	go func() {
		var w slotWorst
		emptySince := map[string]time.Time{}
		for {
			select {
			case <-stop:
				out <- w
				return
			case <-time.After(200 * time.Millisecond):
			}
			var rows string
			var err error
			for _, m := range ms {
				if rows, err = m.Docker(nil, "ps", "--filter", "label=com.docker.swarm.service.name=web",
					"--format", `{{.Label "com.docker.swarm.task.slot"}}`); err == nil {
					break
				}
			}
			if err != nil {
				continue
			}
			per := map[string]int{"1": 0, "2": 0, "3": 0}
			for _, s := range strings.Fields(rows) {
				per[s]++
			}
			now := time.Now()
			for slot, n := range per {
				w.most = max(w.most, n)
				if n > 0 {
					delete(emptySince, slot)
					continue
				}
				if _, ok := emptySince[slot]; !ok {
					emptySince[slot] = now
				}
				w.empty = max(w.empty, now.Sub(emptySince[slot]))
			}
		}
	}()
	return out
}
