//go:build integration

package manage_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"swarm/internal/clustertest"
	"swarm/internal/testbed"
)

// cluster starts a 3-engine bed with Consul, a join per engine and a manager on Consul discovery.
func cluster(t *testing.T, managerArgs ...string) (*testbed.Bed, *clustertest.Manager) {
	t.Helper()
	bed, m, _ := clusterWithJoins(t, managerArgs...)
	return bed, m
}

func clusterWithJoins(t *testing.T, managerArgs ...string) (*testbed.Bed, *clustertest.Manager, []*exec.Cmd) {
	t.Helper()
	bed := testbed.Start(t, testbed.Options{Engines: 3, Consul: true})
	bin := testbed.SwarmBinary(t)
	disc := "consul://" + bed.ConsulAddr + "/swarm"
	var joins []*exec.Cmd
	for _, e := range bed.Engines {
		joins = append(joins, clustertest.StartJoin(t, bin, e.Addr, disc))
	}
	m := clustertest.StartManager(t, bin, disc, append([]string{"--heartbeat=1s"}, managerArgs...)...)
	if err := m.WaitHealthy(3, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return bed, m, joins
}

func TestManagerWithDockerCLI(t *testing.T) {
	bed, m := cluster(t)
	for _, tc := range []struct {
		name string
		env  []string
	}{
		{"negotiated", nil},
		{"api-1.24", []string{"DOCKER_API_VERSION=1.24"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := dockerFor(t, m, tc.env)
			suffix := strings.ReplaceAll(tc.name, ".", "")
			runCommands(t, d, suffix)
			containerCommands(t, d, suffix)
			streamCommands(t, d, suffix)
			systemCommands(t, d, bed)
		})
	}
}

// docker runs the CLI against the manager and fails the test on error.
type docker struct {
	t   *testing.T
	m   *clustertest.Manager
	env []string
}

func dockerFor(t *testing.T, m *clustertest.Manager, env []string) *docker { return &docker{t, m, env} }

func (d *docker) ok(args ...string) string {
	d.t.Helper()
	out, err := d.m.Docker(d.env, args...)
	if err != nil {
		d.t.Fatal(err)
	}
	return out
}

func (d *docker) fails(args ...string) error {
	d.t.Helper()
	_, err := d.m.Docker(d.env, args...)
	if err == nil {
		d.t.Fatalf("docker %v succeeded, expected a failure", args)
	}
	return err
}

func (d *docker) input(stdin string, args ...string) string {
	d.t.Helper()
	out, err := clustertest.Docker("tcp://"+d.m.Addr, d.env, stdin, args...)
	if err != nil {
		d.t.Fatal(err)
	}
	return out
}

func expect(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

func expectContains(t *testing.T, what, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Fatalf("%s: %q does not contain %q", what, got, want)
	}
}

func runCommands(t *testing.T, d *docker, sfx string) {
	expect(t, "run --rm", d.ok("run", "--rm", "busybox", "echo", "hi"), "hi")
	expect(t, "run -i with stdin", d.input("piped\n", "run", "-i", "--rm", "busybox", "cat"), "piped")
	id := d.ok("run", "-d", "--name", "web-"+sfx, "-l", "tier=front", "busybox", "sleep", "1000")
	if len(id) != 64 {
		t.Fatalf("run -d printed %q, want a container ID", id)
	}
	names := d.ok("ps", "--format", "{{.Names}}", "--filter", "name=web-"+sfx)
	if !strings.HasPrefix(names, "node-") || !strings.HasSuffix(names, "/web-"+sfx) {
		t.Fatalf("ps names %q, want node-N/web-%s", names, sfx)
	}
	expect(t, "ps -q", d.ok("ps", "-q", "--no-trunc", "--filter", "label=tier=front", "--filter", "name=web-"+sfx), id)
	node := strings.Split(names, "/")[0]
	expectContains(t, "ps node filter", d.ok("ps", "--format", "{{.Names}}", "--filter", "node="+node), "web-"+sfx)
	expect(t, "inspect node", d.ok("inspect", "-f", "{{.Node.Name}} {{.Name}}", "web-"+sfx), node+" /web-"+sfx)
	expect(t, "inspect by node/name", d.ok("inspect", "-f", "{{.Id}}", node+"/web-"+sfx), id)
	if err := d.fails("run", "--name", "web-"+sfx, "busybox", "true"); !strings.Contains(err.Error(), "Conflict") {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, err := d.m.Docker(d.env, "run", "--name", "exit3-"+sfx, "busybox", "sh", "-c", "exit 3"); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("run exiting 3: %v", err)
	}
	err := clustertest.WaitFor(5*time.Second, func() error { // the exit reaches the cache through the engine's events
		out := d.ok("ps", "-a", "--format", "{{.Names}} {{.Status}}", "--filter", "status=exited", "--filter", "name=exit3-"+sfx)
		if !strings.Contains(out, "Exited (3)") {
			return fmt.Errorf("ps -a status=exited: %q", out)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.fails("inspect", "no-such-container-"+sfx); !strings.Contains(err.Error(), "No such") {
		t.Fatalf("inspect missing: %v", err)
	}
}

func containerCommands(t *testing.T, d *docker, sfx string) {
	c := "web-" + sfx
	expect(t, "exec", d.ok("exec", c, "echo", "from-exec"), "from-exec")
	err := d.fails("exec", c, "sh", "-c", "exit 42")
	expectContains(t, "exec exit code", err.Error(), "exit status 42")
	expectContains(t, "top", d.ok("top", c), "sleep 1000")
	expectContains(t, "stats", d.ok("stats", "--no-stream", "--format", "{{.Name}}", c), c)
	d.ok("pause", c)
	expectContains(t, "paused", d.ok("ps", "--format", "{{.Status}}", "--filter", "name="+c), "Paused")
	d.ok("unpause", c)
	d.ok("rename", c, c+"-b")
	c += "-b"
	d.ok("restart", "-t", "1", c)
	d.ok("stop", "-t", "1", c)
	expectContains(t, "stopped", d.ok("ps", "-a", "--format", "{{.Status}}", "--filter", "name="+c), "Exited")
	d.ok("start", c)
	d.ok("kill", c)
	expectContains(t, "killed", d.ok("ps", "-a", "--format", "{{.Status}}", "--filter", "name="+c), "Exited (137)")
	d.ok("start", c)
	d.input("", "cp", "/etc/hostname", c+":/tmp/copied")
	expect(t, "cp back", d.ok("exec", c, "cat", "/tmp/copied"), strings.TrimSpace(readFile(t, "/etc/hostname")))
	out := t.TempDir() + "/out"
	d.ok("cp", c+":/tmp/copied", out) // a copy out of the container: the archive's bytes relayed as they come
	expect(t, "cp out", strings.TrimSpace(readFile(t, out)), strings.TrimSpace(readFile(t, "/etc/hostname")))
	expectContains(t, "diff", d.ok("diff", c), "A /tmp/copied")
	exp := d.ok("export", c)
	if len(exp) < 100000 {
		t.Fatalf("export gave %d bytes", len(exp))
	}
	imgID := d.ok("commit", c, "snap-"+sfx+":1")
	expectContains(t, "commit", imgID, "sha256:")
	expectContains(t, "images", d.ok("images", "--format", "{{.Repository}}:{{.Tag}}"), "snap-"+sfx+":1")
	d.ok("run", "-d", "--name", "port-"+sfx, "-p", "18080:80", "busybox", "sleep", "1000")
	port := d.ok("port", "port-"+sfx, "80/tcp")
	expectContains(t, "port", port, ":18080")
	expect(t, "wait", d.ok("wait", d.ok("run", "-d", "busybox", "sh", "-c", "exit 7")), "7")
	d.ok("rm", "-f", c, "port-"+sfx)
	if out := d.ok("ps", "-a", "-q", "--filter", "name="+c); out != "" {
		t.Fatalf("rm -f left %q", out)
	}
}

func streamCommands(t *testing.T, d *docker, sfx string) {
	d.ok("run", "-d", "--name", "logger-"+sfx, "busybox", "sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.3; done")
	expect(t, "logs -f", d.ok("logs", "-f", "logger-"+sfx), "line1\nline2\nline3")
	d.ok("run", "-d", "--name", "att-"+sfx, "busybox", "sh", "-c", "sleep 1; echo attached-out; exit 5")
	out, err := d.m.Docker(d.env, "attach", "att-"+sfx)
	expect(t, "attach output", out, "attached-out")
	if err == nil || !strings.Contains(err.Error(), "exit status 5") {
		t.Fatalf("attach exit: %v", err)
	}
	tty := scriptRun(t, d, "run", "-it", "--rm", "busybox", "sh", "-c", "tty; exit 4")
	expectContains(t, "run -it", tty, "/dev/pts/")
}

func systemCommands(t *testing.T, d *docker, bed *testbed.Bed) {
	info := d.ok("info")
	for _, want := range []string{"Role: primary", "Nodes: 3", "Strategy: spread", "Status: Healthy", bed.Engines[2].Name} {
		expectContains(t, "info", info, want)
	}
	expectContains(t, "version", d.ok("version", "--format", "{{.Server.Version}}"), "swarm/")
	since := time.Now().Add(-time.Second).Unix()
	d.ok("run", "--rm", "--name", "evt", "busybox", "true")
	var ev string
	err := clustertest.WaitFor(5*time.Second, func() error { // engine events reach the manager asynchronously
		ev = d.ok("events", "--since", fmt.Sprint(since), "--until", fmt.Sprint(time.Now().Unix()), "--filter", "container=evt",
			"--filter", "event=start", "--format", "{{.Action}} {{.Actor.Attributes.name}} {{index .Actor.Attributes \"node.name\"}}")
		if !strings.HasPrefix(ev, "start evt node-") || strings.Count(ev, "\n") != 0 {
			return fmt.Errorf("events: %q", ev)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d.m.Docker(d.env, "rm", "-f", "evt") // an old CLI's own --rm may have failed to remove it
}

func scriptRun(t *testing.T, d *docker, args ...string) string {
	t.Helper()
	line := "docker " + strings.Join(quoteArgs(args), " ")
	cmd := exec.Command("script", "-qec", line, "/dev/null")
	cmd.Env = append(append(os.Environ(), "DOCKER_HOST=tcp://"+d.m.Addr), d.env...)
	out, _ := cmd.CombinedOutput()
	return string(out)
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return out
}

func readFile(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEngineFailureAndRecovery(t *testing.T) {
	bed, m := cluster(t)
	d := dockerFor(t, m, nil)
	for i := 0; i < 3; i++ {
		d.ok("run", "-d", "--name", fmt.Sprintf("f%d", i), "busybox", "sleep", "1000")
	}
	victim := strings.Split(d.ok("ps", "--format", "{{.Names}}", "--filter", "name=f0"), "/")[0]
	idx := -1
	for i, e := range bed.Engines {
		if e.Name == victim {
			idx = i
		}
	}
	bed.StopEngine(t, idx)
	start := time.Now()
	err := clustertest.WaitFor(10*time.Second, func() error {
		st, err := m.NodeStatus()
		if err == nil && st[victim] != "Unhealthy" {
			err = fmt.Errorf("%s is %q", victim, st[victim])
		}
		return err
	})
	if err != nil {
		t.Fatalf("engine not Unhealthy within 10 s: %v", err)
	}
	t.Logf("engine %s Unhealthy %.1fs after its dockerd stopped", victim, time.Since(start).Seconds())
	expectContains(t, "ps -a on a down node", d.ok("ps", "-a", "--format", "{{.Names}} {{.Status}}", "--filter", "name=f0"), "Host Down")
	err = d.fails("logs", "f0")
	expectContains(t, "call on down node", err.Error(), "running on unhealthy node "+victim) // the original's words
	for i := 0; i < 4; i++ {
		name := fmt.Sprintf("after%d", i)
		d.ok("run", "-d", "--name", name, "busybox", "sleep", "1000")
		if n := d.ok("inspect", "-f", "{{.Node.Name}}", name); n == victim {
			t.Fatalf("%s was placed on the down node %s", name, victim)
		}
	}
	start = time.Now()
	bed.StartEngine(t, idx)
	err = clustertest.WaitFor(10*time.Second, func() error {
		st, err := m.NodeStatus()
		if err == nil && st[victim] != "Healthy" {
			err = fmt.Errorf("%s is %q", victim, st[victim])
		}
		return err
	})
	if err != nil {
		t.Fatalf("engine not Healthy within 10 s of its restart: %v", err)
	}
	t.Logf("engine %s Healthy %.1fs after its dockerd started", victim, time.Since(start).Seconds())
}

func TestHijackedSessionsLeakNothing(t *testing.T) {
	_, m := cluster(t, "--pprof")
	d := dockerFor(t, m, nil)
	d.ok("run", "-d", "--name", "leak", "busybox", "sh", "-c", "while true; do echo tick; sleep 0.2; done")
	cli, err := client.NewClientWithOpts(client.WithHost("tcp://"+m.Addr), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := context.Background()
	session := func(i int) {
		ex, err := cli.ContainerExecCreate(ctx, "leak", container.ExecOptions{Cmd: []string{"sh", "-c", fmt.Sprintf("echo %d; exit %d", i, i%7)},
			AttachStdout: true, AttachStderr: true})
		if err != nil {
			t.Fatal(err)
		}
		hr, err := cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, hr.Reader)
		hr.Close()
		in, err := cli.ContainerExecInspect(ctx, ex.ID)
		if err != nil || in.ExitCode != i%7 {
			t.Fatalf("exec %d: exit %d, err %v", i, in.ExitCode, err)
		}
		ar, err := cli.ContainerAttach(ctx, "leak", container.AttachOptions{Stream: true, Stdout: true})
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		if _, err := ar.Reader.Read(buf); err != nil {
			t.Fatalf("attach %d read: %v", i, err)
		}
		ar.Close()
		lr, err := cli.ContainerLogs(ctx, "leak", container.LogsOptions{Follow: true, ShowStdout: true, Tail: "1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lr.Read(buf); err != nil { // then the client goes away from logs -f
			t.Fatalf("logs -f %d read: %v", i, err)
		}
		lr.Close()
	}
	for i := 0; i < 50; i++ { // warm the manager's connection pools to the engines
		session(i)
	}
	g0, f0 := settled(t, m)
	for i := 0; i < 100; i++ {
		session(i)
	}
	g1, f1 := settled(t, m)
	for i := 0; i < 100; i++ {
		session(i)
	}
	g2, f2 := settled(t, m)
	t.Logf("goroutines %d -> %d -> %d, fds %d -> %d -> %d (after 50 warm-up, then 100 and 100 exec + attach + logs -f sessions)",
		g0, g1, g2, f0, f1, f2)
	// Idle keep-alive connections may still be opened by the first hundred; a leak grows with every session
	// (each one is three connections taken over), so a hundred sessions would show hundreds.
	if g2 > g1+4 || f2 > f1+4 || g2 > g0+10 || f2 > f0+10 {
		t.Fatalf("sessions leaked: goroutines %d -> %d -> %d, fds %d -> %d -> %d", g0, g1, g2, f0, f1, f2)
	}
}

// settled samples the manager's goroutines and open files a few times and returns the fewest of each: a
// connection the manager is just opening or closing (its own pools, the Consul watch) is not a leak, and a leak
// never shrinks.
func settled(t *testing.T, m *clustertest.Manager) (g, f int) {
	g, f = 1<<30, 1<<30
	for range 5 {
		time.Sleep(400 * time.Millisecond)
		g, f = min(g, goroutines(t, m)), min(f, fds(t, m))
	}
	return g, f
}

func goroutines(t *testing.T, m *clustertest.Manager) int {
	b, err := m.Get("/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	fmt.Sscanf(string(b), "goroutine profile: total %d", &n)
	if n == 0 {
		t.Fatalf("cannot read the goroutine count: %.100s", b)
	}
	return n
}

func fds(t *testing.T, m *clustertest.Manager) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", m.Cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
