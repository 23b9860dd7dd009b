//go:build integration

package manage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"swarm/internal/clustertest"
	"swarm/internal/testbed"
)

// The articles' service flows, as written, with the unmodified Docker CLI against the manager: nodes, a
// replicated service with a host-mode port, scale, rolling update, rollback, logs, constraints, global mode
// (a node joining later gets its task), drain, labels, and an engine that stops and comes back.
func TestServicesWithDockerCLI(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{Engines: 3, Consul: true})
	bin := testbed.SwarmBinary(t)
	disc := "consul://" + bed.ConsulAddr + "/swarm"
	for _, e := range bed.Engines[:2] { // node-2 joins later
		clustertest.StartJoin(t, bin, e.Addr, disc)
	}
	m := clustertest.StartManager(t, bin, disc, "--heartbeat=1s")
	if err := m.WaitHealthy(2, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, e := range bed.Engines {
		if out, err := exec.Command("docker", "-H", "unix://"+e.Sock, "tag", "busybox:latest", "busybox:v2").CombinedOutput(); err != nil {
			t.Fatalf("tagging busybox:v2 on %s: %v: %s", e.Name, err, out)
		}
	}
	d := dockerFor(t, m, nil)
	s := &svcCheck{t: t, d: d, m: m, bed: bed}

	s.globalGetsTaskOnNewNode(bin, disc)
	s.nodes()
	s.replicatedWithHostPort()
	s.scale()
	s.rollingUpdateAndRollback()
	s.logs()
	s.constraintsAndLabels()
	s.drain()
	s.engineStopsAndComesBack()
	s.badInput()
	s.removeLeavesNoContainer()
}

type svcCheck struct {
	t   *testing.T
	d   *docker
	m   *clustertest.Manager
	bed *testbed.Bed
}

// tasks are `service ps`'s rows for a service, as NAME NODE DESIRED CURRENT-STATE-WORD.
func (s *svcCheck) tasks(service string) []string {
	out := s.d.ok("service", "ps", "--no-trunc", "--format", "{{.Name}} {{.Node}} {{.DesiredState}} {{.CurrentState}} {{.Image}}", service)
	var rows []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 5 {
			rows = append(rows, strings.Join([]string{strings.TrimLeft(f[0], `\_ `), f[1], f[2], f[3], f[len(f)-1]}, " "))
		}
	}
	return rows
}

// running are the rows of running tasks whose desired state is Running.
func (s *svcCheck) running(service string) []string {
	var out []string
	for _, r := range s.tasks(service) {
		if f := strings.Fields(r); f[2] == "Running" && f[3] == "Running" {
			out = append(out, r)
		}
	}
	return out
}

func (s *svcCheck) waitRunning(service string, n int, within time.Duration) []string {
	s.t.Helper()
	var rows []string
	err := clustertest.WaitFor(within, func() error {
		rows = s.running(service)
		if len(rows) != n {
			return fmt.Errorf("%d running, want %d: %v", len(rows), n, s.tasks(service))
		}
		return nil
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return rows
}

func nodesOf(rows []string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, strings.Fields(r)[1])
	}
	sort.Strings(out)
	return out
}

func (s *svcCheck) globalGetsTaskOnNewNode(bin, disc string) {
	t := s.t
	s.d.ok("service", "create", "--detach", "--name", "agent", "--mode", "global", "--stop-grace-period", "1s", "busybox", "sleep", "1d")
	expect(t, "global tasks on 2 nodes", strings.Join(nodesOf(s.waitRunning("agent", 2, 30*time.Second)), ","), "node-0,node-1")
	clustertest.StartJoin(t, bin, s.bed.Engines[2].Addr, disc)
	if err := s.m.WaitHealthy(3, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	expect(t, "global tasks after node-2 joined", strings.Join(nodesOf(s.waitRunning("agent", 3, 20*time.Second)), ","), "node-0,node-1,node-2")
	ls := s.d.ok("service", "ls", "--format", "{{.Name}} {{.Mode}} {{.Replicas}}")
	expectContains(t, "service ls", ls, "agent global 3/3")
	s.d.ok("service", "rm", "agent")
}

func (s *svcCheck) nodes() {
	t := s.t
	out := s.d.ok("node", "ls")
	lines := strings.Split(out, "\n")
	if len(lines) != 4 {
		t.Fatalf("node ls: %q, want a header and 3 nodes", out)
	}
	selfRows := 0
	for _, l := range lines[1:] {
		expectContains(t, "node ls row", l, "Ready")
		expectContains(t, "node ls row", l, "Active")
		if strings.Contains(l, " * ") {
			selfRows++
			expectContains(t, "the manager's row", l, "Leader")
		}
	}
	if selfRows != 1 {
		t.Fatalf("node ls marks %d rows with *, want 1: %q", selfRows, out)
	}
	insp := s.d.ok("node", "inspect", "--format", "{{.Description.Hostname}} {{.Status.State}} {{.Spec.Role}}", "node-1")
	expect(t, "node inspect node-1", insp, "node-1 ready worker")
}

func (s *svcCheck) replicatedWithHostPort() {
	t := s.t
	s.d.ok("service", "create", "--name", "web", "--replicas", "3", "-p", "mode=host,target=80,published=8080",
		"--stop-grace-period", "1s", "busybox", "httpd", "-f", "-p", "80", "-h", "/")
	expectContains(t, "service ls", s.d.ok("service", "ls", "--format", "{{.Name}} {{.Mode}} {{.Replicas}} {{.Image}}"), "web replicated 3/3 busybox")
	rows := s.waitRunning("web", 3, 10*time.Second)
	expect(t, "web's nodes under spread", strings.Join(nodesOf(rows), ","), "node-0,node-1,node-2")
	for _, e := range s.bed.Engines {
		resp, err := http.Get("http://" + e.IP + ":8080/")
		if err != nil {
			t.Fatalf("port 8080 on %s: %v", e.Name, err)
		}
		resp.Body.Close()
	}
	insp := s.d.ok("service", "inspect", "--format", "{{json .Endpoint.Ports}} {{.Spec.UpdateConfig.Parallelism}} {{.Spec.TaskTemplate.RestartPolicy.Condition}}", "web")
	expectContains(t, "service inspect", insp, `"PublishMode":"host"`)
	expectContains(t, "service inspect", insp, "] 1 any")
}

func (s *svcCheck) scale() {
	t := s.t
	s.d.ok("service", "create", "--detach", "--name", "api", "--replicas", "2", "--stop-grace-period", "1s", "busybox", "sleep", "1d")
	s.waitRunning("api", 2, 20*time.Second)
	s.d.ok("service", "scale", "api=5")
	s.waitRunning("api", 5, 5*time.Second)
	expectContains(t, "service ls after scale", s.d.ok("service", "ls", "--format", "{{.Name}} {{.Replicas}}"), "api 5/5")
	s.d.ok("service", "scale", "--detach", "api=1")
	s.waitRunning("api", 1, 20*time.Second)
	// host-mode ports limit a service to one task per node: the extra ones wait, and say why
	s.d.ok("service", "scale", "--detach", "web=4")
	err := clustertest.WaitFor(20*time.Second, func() error {
		out := s.d.ok("service", "ps", "--no-trunc", "--format", "{{.CurrentState}} {{.Error}}", "web")
		if !strings.Contains(out, "Pending") || !strings.Contains(out, "no suitable node (") || !strings.Contains(out, "port 8080") {
			return fmt.Errorf("service ps web: %q", out)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.d.ok("service", "scale", "web=3")
}

func (s *svcCheck) rollingUpdateAndRollback() {
	t := s.t
	var mu sync.Mutex
	mixed := false    // seen v1 and v2 tasks running at once: the update rolled
	var seen []string // what the polls saw, for a failure's message
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			rows, err := s.m.Docker(nil, "service", "ps", "--filter", "desired-state=running", "--format", "{{.Image}} {{.CurrentState}}", "web")
			mu.Lock()
			if err == nil && strings.Contains(rows, "busybox:v2 Running") && strings.Contains(rows, "busybox:latest Running") {
				mixed = true
			}
			seen = append(seen, fmt.Sprintf("%s %q %v", time.Now().Format("15:04:05.000"), rows, err))
			mu.Unlock()
			time.Sleep(200 * time.Millisecond)
		}
	}()
	s.d.ok("service", "update", "--image", "busybox:v2", "--update-parallelism", "2", "--update-delay", "2s", "web")
	t.Logf("service update returned at %s", time.Now().Format("15:04:05.000"))
	cancel()
	<-done
	if !mixed {
		t.Errorf("never saw old and new tasks running together: the update did not roll; polls:\n%s", strings.Join(seen, "\n"))
	}
	for _, r := range s.waitRunning("web", 3, 10*time.Second) {
		expectContains(t, "task after update", r, "busybox:v2")
	}
	s.waitUpdate("web", "completed")
	s.d.ok("service", "rollback", "web")
	for _, r := range s.waitRunning("web", 3, 10*time.Second) {
		expectContains(t, "task after rollback", r, "busybox:latest")
	}
	s.waitUpdate("web", "rollback_completed")
}

// waitUpdate waits until the service's update state is want: it completes once the last task ran for the
// update's monitor window.
func (s *svcCheck) waitUpdate(service, want string) {
	s.t.Helper()
	err := clustertest.WaitFor(15*time.Second, func() error {
		if got := s.d.ok("service", "inspect", "--format", "{{.UpdateStatus.State}}", service); got != want {
			return fmt.Errorf("update state %q, want %q", got, want)
		}
		return nil
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// logs follows a service's log with the CLI: lines from every task, prefixed as the CLI prints them, and the
// lines of a task that starts while it follows (a scale up).
func (s *svcCheck) logs() {
	t := s.t
	s.d.ok("service", "create", "--name", "talker", "--replicas", "2", "--stop-grace-period", "1s", "busybox",
		"sh", "-c", "while true; do echo hello from $(hostname); sleep 1; done")
	s.waitRunning("talker", 2, 15*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "-H", "tcp://"+s.m.Addr, "service", "logs", "-f", "talker")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slots, nodes := map[string]bool{}, map[string]bool{}
	dec := make([]byte, 64<<10)
	var buf strings.Builder
	readUntil := func(n int) {
		for len(slots) < n {
			k, err := out.Read(dec)
			if err != nil {
				t.Fatalf("service logs -f ended after %q (slots seen %v): %v", buf.String(), slots, err)
			}
			buf.Write(dec[:k])
			for _, l := range strings.Split(buf.String(), "\n") {
				// talker.1.abc@node-1    | hello from 1a2b3c
				if name, msg, ok := strings.Cut(l, "|"); ok && strings.HasPrefix(name, "talker.") && strings.Contains(msg, "hello from") {
					task, node, _ := strings.Cut(strings.TrimSpace(name), "@")
					slots[strings.Join(strings.SplitN(task, ".", 3)[:2], ".")] = true
					nodes[node] = true
				}
			}
		}
	}
	readUntil(2)
	s.d.ok("service", "scale", "talker=3")
	readUntil(3) // the new task's lines come on the same followed log
	cancel()
	cmd.Wait()
	if len(nodes) != 3 {
		t.Errorf("service logs -f: lines from nodes %v, want 3 (spread)", nodes)
	}
	raw := s.d.ok("service", "logs", "--raw", "--tail", "1", "talker")
	expectContains(t, "service logs --raw", raw, "hello from")
	s.d.ok("service", "rm", "talker")
}

func (s *svcCheck) constraintsAndLabels() {
	t := s.t
	s.d.ok("service", "create", "--name", "pinned", "--replicas", "2", "--constraint", "node.hostname==node-0",
		"--stop-grace-period", "1s", "busybox", "sleep", "1d")
	expect(t, "pinned's nodes", strings.Join(nodesOf(s.waitRunning("pinned", 2, 10*time.Second)), ","), "node-0,node-0")
	s.d.ok("node", "update", "--label-add", "zone=a", "node-2")
	expect(t, "node label", s.d.ok("node", "inspect", "--format", "{{.Spec.Labels.zone}}", "node-2"), "a")
	s.d.ok("service", "create", "--name", "zoned", "--constraint", "node.labels.zone==a", "--stop-grace-period", "1s", "busybox", "sleep", "1d")
	expect(t, "zoned's node", strings.Join(nodesOf(s.waitRunning("zoned", 1, 10*time.Second)), ","), "node-2")
	// classic placement honours node labels too
	s.d.ok("run", "-d", "--name", "classic-zoned", "-e", "constraint:node.labels.zone==a", "busybox", "sleep", "1d")
	expect(t, "classic container's node", s.d.ok("inspect", "--format", "{{.Node.Name}}", "classic-zoned"), "node-2")
	s.d.ok("rm", "-f", "classic-zoned")
	s.d.ok("service", "rm", "pinned", "zoned")
}

func (s *svcCheck) drain() {
	t := s.t
	start := time.Now()
	s.d.ok("node", "update", "--availability", "drain", "node-1")
	rows := s.waitRunning("api", 1, 15*time.Second)
	_ = rows
	err := clustertest.WaitFor(15*time.Second, func() error {
		for _, r := range s.running("web") {
			if strings.Fields(r)[1] == "node-1" {
				return fmt.Errorf("web still runs on node-1: %v", s.tasks("web"))
			}
		}
		if n := len(s.running("web")); n != 2 { // host port 8080: node-0 and node-2 only
			return fmt.Errorf("%d web tasks running, want 2", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("drain: tasks moved in %v", time.Since(start).Round(time.Millisecond))
	expectContains(t, "service ps web after drain", strings.Join(s.tasks("web"), "\n"), "node-1 Shutdown Shutdown")
	expectContains(t, "node ls after drain", s.d.ok("node", "ls", "--filter", "name=node-1"), "Drain")
	// classic creates avoid the drained node too
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("classic-%d", i)
		s.d.ok("run", "-d", "--name", name, "busybox", "sleep", "1d")
		if node := s.d.ok("inspect", "--format", "{{.Node.Name}}", name); node == "node-1" {
			t.Errorf("classic container %s placed on the drained node", name)
		}
		s.d.ok("rm", "-f", name)
	}
	s.d.ok("node", "update", "--availability", "active", "node-1")
	s.waitRunning("web", 3, 15*time.Second)
}

func (s *svcCheck) engineStopsAndComesBack() {
	t := s.t
	s.bed.StopEngine(t, 2) // node-2
	start := time.Now()
	err := clustertest.WaitFor(15*time.Second, func() error {
		var onLost, up int
		for _, r := range s.running("api") {
			up++
			if strings.Fields(r)[1] == "node-2" {
				onLost++
			}
		}
		if up != 1 || onLost != 0 {
			// the api task may have been on node-2: it must run elsewhere
			return fmt.Errorf("api: %v", s.tasks("api"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("engine stop: tasks running elsewhere after %v", time.Since(start).Round(time.Millisecond))
	s.bed.StartEngine(t, 2)
	if err := s.m.WaitHealthy(3, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	err = clustertest.WaitFor(20*time.Second, func() error {
		out, err := exec.Command("docker", "-H", "unix://"+s.bed.Engines[2].Sock, "ps", "-q",
			"--filter", "label=com.docker.swarm.service.name=api").CombinedOutput()
		if err != nil {
			return err
		}
		total := len(s.running("api"))
		if strings.TrimSpace(string(out)) != "" && total > 1 {
			return fmt.Errorf("stale api copies still run on node-2 (%d running)", total)
		}
		if total != 1 {
			return fmt.Errorf("%d api tasks running, want 1", total)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (s *svcCheck) badInput() {
	t := s.t
	err := s.d.fails("service", "inspect", "nosuch")
	expectContains(t, "inspect unknown service", err.Error(), "nosuch")
	err = s.d.fails("service", "rm", "nosuch")
	expectContains(t, "rm unknown service", err.Error(), "service nosuch not found")
	err = s.d.fails("node", "inspect", "nosuch")
	expectContains(t, "inspect unknown node", err.Error(), "node nosuch not found")
	err = s.d.fails("service", "create", "--name", "bad", "--constraint", "node.foo==1", "busybox")
	expectContains(t, "unknown constraint key", err.Error(), "node.foo")
	err = s.d.fails("service", "create", "--name", "ingress", "-p", "8081:80", "busybox")
	expectContains(t, "ingress port", err.Error(), "mode=host")
	err = s.d.fails("swarm", "init")
	expectContains(t, "swarm init", err.Error(), "swarm join")
	var list []json.RawMessage
	body, gerr := s.m.Get("/services?filters=" + `{"name":{"bad":true}}`)
	if gerr != nil || json.Unmarshal(body, &list) != nil || len(list) != 0 {
		t.Errorf("refused services were stored: %s %v", body, gerr)
	}
}

func (s *svcCheck) removeLeavesNoContainer() {
	t := s.t
	s.d.ok("service", "rm", "web", "api")
	err := clustertest.WaitFor(40*time.Second, func() error { // each stops with its grace period (10 s) first
		out := s.d.ok("ps", "-a", "-q", "--filter", "label=com.docker.swarm.service.id")
		if out != "" {
			return fmt.Errorf("task containers left: %q", out)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "service ls after rm", s.d.ok("service", "ls", "-q"), "")
}
