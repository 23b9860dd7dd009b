//go:build integration

package manage_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"swarm/internal/clustertest"
	"swarm/internal/testbed"
)

const composeFile = `version: "2.4"
services:
  db:
    image: busybox
    command: sh -c "echo db-ready; sleep 1000"
  app:
    image: busybox
    command: sh -c "echo app-started; sleep 1000"
    links: [db]
  web:
    image: busybox
    command: sleep 1000
`

// Docker Compose (Debian's 1.29) through the manager: services spread, linked containers co-scheduled.
func TestComposeThroughTheManager(t *testing.T) {
	_, m := cluster(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(composeFile), 0o644); err != nil {
		t.Fatal(err)
	}
	compose := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("docker-compose", append([]string{"-p", "proj"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "DOCKER_HOST=tcp://"+m.Addr, "COMPOSE_INTERACTIVE_NO_CLI=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("docker-compose %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	compose("up", "-d")
	compose("up", "-d", "--scale", "web=3")
	ps := compose("ps")
	for _, want := range []string{"proj_db_1", "proj_app_1", "proj_web_1", "proj_web_2", "proj_web_3"} {
		if !strings.Contains(ps, want) {
			t.Fatalf("compose ps lacks %s:\n%s", want, ps)
		}
	}
	if strings.Count(ps, " Up ") < 5 {
		t.Fatalf("compose ps: not everything is up:\n%s", ps)
	}
	d := dockerFor(t, m, nil)
	app := d.ok("ps", "--format", "{{.Names}}", "--filter", "name=proj_app_1")
	db := d.ok("ps", "--format", "{{.Names}}", "--filter", "name=proj_db_1")
	if strings.Split(app, "/")[0] != strings.Split(db, "/")[0] {
		t.Fatalf("linked containers on different nodes: %s and %s", app, db)
	}
	webs := d.ok("ps", "--format", "{{.Names}}", "--filter", "name=proj_web")
	nodes := map[string]bool{}
	for _, w := range strings.Split(webs, "\n") {
		nodes[strings.Split(w, "/")[0]] = true
	}
	if len(nodes) < 2 {
		t.Fatalf("web replicas not spread: %s", webs)
	}
	if logs := compose("logs", "--no-color", "app"); !strings.Contains(logs, "app-started") {
		t.Fatalf("compose logs: %s", logs)
	}
	compose("stop")
	compose("down")
	if left := d.ok("ps", "-a", "-q", "--filter", "label=com.docker.compose.project=proj"); left != "" {
		t.Fatalf("compose down left %s", left)
	}
	t.Logf("compose ps:\n%s", ps)
}

// The swarm image runs manage, join and list as containers, as the classic docs use them.
func TestContainerizedCommands(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{Engines: 3, Consul: true})
	bin := testbed.SwarmBinary(t)
	ctx := t.TempDir()
	copyFile(t, bin, filepath.Join(ctx, "swarm"), 0o755)
	copyFile(t, "/etc/ssl/certs/ca-certificates.crt", filepath.Join(ctx, "ca-certificates.crt"), 0o644)
	root := moduleRoot(t)
	copyFile(t, filepath.Join(root, "Dockerfile"), filepath.Join(ctx, "Dockerfile"), 0o644)
	on := func(i int, args ...string) string {
		t.Helper()
		out, err := clustertest.Docker("tcp://"+bed.Engines[i].Addr, []string{"DOCKER_BUILDKIT=0"}, "", args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	disc := "consul://" + bed.ConsulAddr + "/cswarm"
	for i, e := range bed.Engines {
		on(i, "build", "-q", "-t", "swarm:test", ctx)
		on(i, "run", "-d", "--name", "join", "swarm:test", "join", "--advertise="+e.Addr, "--heartbeat=2s", "--ttl=10s", disc)
	}
	on(0, "run", "-d", "--name", "manager", "-p", "2377:2375", "swarm:test", "manage", "--heartbeat=1s", disc)
	var listed string
	err := clustertest.WaitFor(20*time.Second, func() error {
		out, err := clustertest.Docker("tcp://"+bed.Engines[1].Addr, nil, "", "run", "--rm", "swarm:test", "list", disc)
		listed = out
		if err == nil && strings.Count(out, ":2375") != 3 {
			err = fmt.Errorf("list: %q", out)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	mgr := &clustertest.Manager{Addr: bed.Engines[0].IP + ":2377"}
	if err := mgr.WaitHealthy(3, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	d := dockerFor(t, mgr, nil)
	expect(t, "run via the containerized manager", d.ok("run", "--rm", "busybox", "echo", "contained"), "contained")
	d.ok("run", "-d", "--name", "clog", "busybox", "sh", "-c", "echo from-clog; sleep 100")
	expectContains(t, "ps", d.ok("ps", "--format", "{{.Names}}"), "/clog")
	time.Sleep(500 * time.Millisecond)
	expect(t, "logs", d.ok("logs", "clog"), "from-clog")
	t.Logf("swarm list (containerized):\n%s", listed)
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

func moduleRoot(t *testing.T) string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("no go.mod")
		}
		dir = filepath.Dir(dir)
	}
}

// The Consul UI, in a headless Chromium, lists every joined engine as a passing swarm-node instance and shows
// the classic node keys and the leader key with its lock session. Screenshots go to bin/artifacts/.
func TestConsulUIShowsTheCluster(t *testing.T) {
	bed, _, _ := clusterWithJoins(t)
	addr := clustertest.FreeAddr(t)
	clustertest.StartManagerAt(t, testbed.SwarmBinary(t), addr, "consul://"+bed.ConsulAddr+"/swarm",
		"--replication", "--advertise", addr)
	artifacts := filepath.Join(moduleRoot(t), "bin", "artifacts")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	ui := "http://" + bed.ConsulAddr + "/ui/dc1/"
	page := func(path, shot string, ok func(string) bool) string {
		t.Helper()
		p := clustertest.OpenPage(t, ui+path)
		text, err := p.WaitText(45*time.Second, ok)
		if shot != "" {
			if err := p.Screenshot(filepath.Join(artifacts, shot)); err != nil {
				t.Error(err)
			}
		}
		if err != nil {
			t.Fatalf("Consul UI %s: %v; the page reads:\n%s", path, err, text)
		}
		return text
	}
	passing := func(text string) bool {
		for _, e := range bed.Engines {
			id := "swarm-node-" + strings.NewReplacer(".", "-", ":", "-").Replace(e.Addr)
			if !strings.Contains(text, id+"\nAll service checks passing") {
				return false
			}
		}
		return true
	}
	page("services", "consul-ui-services.png", func(s string) bool { return strings.Contains(s, "swarm-node\n3 instances") })
	page("services/swarm-node/instances", "consul-ui-swarm-node.png", passing)
	page("kv/swarm/docker/swarm/nodes/", "consul-ui-kv-nodes.png", func(s string) bool {
		for _, e := range bed.Engines {
			if !strings.Contains(s, e.Addr) {
				return false
			}
		}
		return true
	})
	page("kv/swarm/docker/swarm/leader/edit", "consul-ui-leader.png", func(s string) bool {
		return strings.Contains(s, addr) && strings.Contains(s, "Lock Session")
	})
}
