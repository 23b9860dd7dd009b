//go:build integration

package agent_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"swarm/internal/clustertest"
	"swarm/internal/testbed"
)

// stackCompose is the application the stack test deploys: a web service of three replicas (placed off
// node-2, with reservations and a paced update) serving a config, holding a secret; a global worker; a front
// publishing a port on the mesh; all on a custom overlay network.
const stackCompose = `version: "3.8"
services:
  web:
    image: stacktest:%s
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    networks: [back]
    secrets:
      - source: pw
        target: pw
        mode: 0400
    configs:
      - source: page
        target: /www/index.html
    deploy:
      replicas: 3
      placement:
        constraints: ["node.hostname != node-2"]
      resources:
        reservations:
          memory: 16M
      update_config:
        parallelism: 1
        delay: 2s
  worker:
    image: stacktest:v1
    command: ["sleep", "100000"]
    networks: [back]
    deploy:
      mode: global
  front:
    image: stacktest:v1
    command: ["sh", "-c", "echo front > /tmp/index.html && exec httpd -f -p 80 -h /tmp"]
    networks: [back]
    ports: ["8089:80"]
networks:
  back:
    driver: overlay
secrets:
  pw:
    file: %s
configs:
  page:
    file: %s
`

const stackSecret = "s3cret-7f1e2d-value"

// stackFiles writes the stack's compose file (web at image tag tag), secret and config, and returns the
// compose file's path.
func stackFiles(t *testing.T, dir, tag string) string {
	t.Helper()
	secret, page := filepath.Join(dir, "pw.txt"), filepath.Join(dir, "page.html")
	write(t, secret, stackSecret)
	write(t, page, "hello from the config")
	path := filepath.Join(dir, "compose-"+tag+".yml")
	write(t, path, fmt.Sprintf(stackCompose, tag, secret, page))
	return path
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// stackManager starts a manager holding a secrets key, on engines that have the images stacktest:v1 and :v2.
func stackManager(t *testing.T, bed *testbed.Bed) *clustertest.Manager {
	t.Helper()
	for _, e := range bed.Engines {
		docker(t, e, "tag", "busybox", "stacktest:v1")
		docker(t, e, "tag", "busybox", "stacktest:v2")
	}
	bin := testbed.BuildBinary(t, "swarm/cmd/swarm")
	m := clustertest.StartManager(t, bin, "consul://"+bed.ConsulAddr+"/"+prefix, "--secrets-key="+filepath.Join(t.TempDir(), "key"))
	if err := m.WaitHealthy(len(bed.Engines), 60*time.Second); err != nil {
		t.Fatal(err)
	}
	return m
}

// waitReplicas waits until `stack services` shows each service of the stack at its replicas, all running.
func waitReplicas(t *testing.T, m *clustertest.Manager, stack string, want map[string]string) {
	t.Helper()
	err := clustertest.WaitFor(90*time.Second, func() error {
		out := cli(t, m, true, "stack", "services", stack, "--format", "{{.Name}} {{.Replicas}}")
		got := map[string]string{}
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) == 2 {
				got[f[0]] = f[1]
			}
		}
		for name, r := range want {
			if got[name] != r {
				return fmt.Errorf("stack services %s: %v, want %v", stack, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// running returns the IDs of service svc's running task containers.
func runningTasks(t *testing.T, m *clustertest.Manager, svc string) []string {
	t.Helper()
	return strings.Fields(cli(t, m, true, "ps", "-q", "--filter", "label=com.docker.swarm.service.name="+svc))
}

// The application with the real CLI: `docker stack deploy` of a compose v3.8 file with three services,
// an overlay network, a secret and a config; the services reach each other by name across hosts, the secret
// reads back in a task (and nowhere else), `stack ps` shows every task, a changed image re-deploys as a paced
// rolling update of that service only, and `stack rm` leaves nothing on the engines or in Consul.
func TestAStackDeploysWithSecretsConfigsAndRollingUpdates(t *testing.T) {
	bed, _, client := hosts(t, 3)
	m := stackManager(t, bed)
	dir := t.TempDir()
	out := cli(t, m, true, "stack", "deploy", "--resolve-image", "never", "-c", stackFiles(t, dir, "v1"), "app")
	t.Logf("stack deploy:\n%s", out)
	waitReplicas(t, m, "app", map[string]string{"app_web": "3/3", "app_worker": "3/3", "app_front": "1/1"})

	ps := cli(t, m, true, "stack", "ps", "app", "--format", "{{.Name}} {{.Node}} {{.CurrentState}}")
	if rows := strings.Split(ps, "\n"); len(rows) != 7 {
		t.Fatalf("stack ps app shows %d tasks, want 7:\n%s", len(rows), ps)
	}
	for _, row := range strings.Split(ps, "\n") {
		if strings.HasPrefix(row, "app_web.") && strings.Contains(row, " node-2 ") {
			t.Fatalf("a web task runs on node-2, which its constraint excludes:\n%s", ps)
		}
	}

	// The secret and the config are files in the task; the worker on every host reaches web by name.
	web := runningTasks(t, m, "app_web")
	if got := cli(t, m, true, "exec", web[0], "cat", "/run/secrets/pw"); got != stackSecret {
		t.Fatalf("/run/secrets/pw in a web task: %q", got)
	}
	if got := cli(t, m, true, "exec", web[0], "stat", "-c", "%a %u", "/run/secrets/pw"); got != "400 0" {
		t.Fatalf("/run/secrets/pw mode and owner: %q, want 400 0", got)
	}
	for _, w := range runningTasks(t, m, "app_worker") {
		if got := cli(t, m, true, "exec", w, "wget", "-q", "-O-", "http://web/"); got != "hello from the config" {
			t.Fatalf("worker %s asked http://web/: %q", w, got)
		}
	}
	for _, e := range bed.Engines {
		if got, err := fetch(fmt.Sprintf("http://%s:8089/", e.IP)); err != nil || got != "front" {
			t.Fatalf("%s:8089 (front, on the mesh): %q %v", e.Name, got, err)
		}
		if got, err := get(dialer(e.Netns, ""), "127.0.0.1:8089"); err != nil || got != "front" {
			t.Fatalf("localhost:8089 on %s: %q %v", e.Name, got, err)
		}
	}
	secretNowhere(t, m, client, web[0])

	// A changed image: only web is updated, one task at a time, 2 s apart.
	before := map[string][]string{"app_worker": runningTasks(t, m, "app_worker"), "app_front": runningTasks(t, m, "app_front")}
	cli(t, m, true, "stack", "deploy", "-c", stackFiles(t, dir, "v2"), "app")
	rolledOut(t, m, "app_web", "stacktest:v2", 3, 2*time.Second)
	for svc, ids := range before {
		if now := runningTasks(t, m, svc); !sameSet(ids, now) {
			t.Fatalf("%s was not changed but its tasks were replaced: %v → %v", svc, ids, now)
		}
	}

	// --prune: a service no longer in the file goes, the others stay as they are.
	pruned := filepath.Join(dir, "pruned.yml")
	full, _ := os.ReadFile(stackFiles(t, dir, "v2"))
	start, end := strings.Index(string(full), "  front:"), strings.Index(string(full), "networks:\n  back:")
	write(t, pruned, string(full[:start])+string(full[end:]))
	web = runningTasks(t, m, "app_web")
	cli(t, m, true, "stack", "deploy", "--prune", "--resolve-image", "never", "-c", pruned, "app")
	if got := cli(t, m, true, "stack", "services", "app", "--format", "{{.Name}}"); got != "app_web\napp_worker" {
		t.Fatalf("stack services after deploy --prune without front: %q", got)
	}
	if now := runningTasks(t, m, "app_web"); !sameSet(web, now) {
		t.Fatalf("web's tasks changed on a deploy that only pruned front: %v → %v", web, now)
	}

	// stack rm takes the stack's objects and nothing else.
	cli(t, m, true, "network", "create", "-d", "overlay", "keepnet")
	cli(t, m, true, "config", "create", "keepcfg", filepath.Join(dir, "page.html"))
	cli(t, m, true, "stack", "rm", "app")
	if got := cli(t, m, true, "network", "ls", "-q", "--filter", "name=keepnet"); got == "" {
		t.Fatal("stack rm removed a network that is not the stack's")
	}
	if got := cli(t, m, true, "config", "ls", "-q", "--filter", "name=keepcfg"); got == "" {
		t.Fatal("stack rm removed a config that is not the stack's")
	}
	cli(t, m, true, "network", "rm", "keepnet")
	cli(t, m, true, "config", "rm", "keepcfg")
	stackGone(t, m, bed, client, "app")
	seedStacks(t, m, bed, dir)
}

// seedStacks deploys the articles' simple stacks: a web service with replicas and a published port, and a
// registry on 5000:5000; both answer on every host.
func seedStacks(t *testing.T, m *clustertest.Manager, bed *testbed.Bed, dir string) {
	t.Helper()
	registryImage(t, bed, dir)
	path := filepath.Join(dir, "seeds.yml")
	write(t, path, `version: "3"
services:
  web:
    image: stacktest:v1
    command: ["sh", "-c", "hostname > /tmp/index.html && exec httpd -f -p 80 -h /tmp"]
    ports: ["8090:80"]
    deploy:
      replicas: 2
  registry:
    image: stackregistry:test
    ports: ["5000:5000"]
`)
	cli(t, m, true, "stack", "deploy", "-c", path, "seeds")
	waitReplicas(t, m, "seeds", map[string]string{"seeds_web": "2/2", "seeds_registry": "1/1"})
	for _, e := range bed.Engines {
		err := clustertest.WaitFor(60*time.Second, func() error {
			if seen, err := spread(fmt.Sprintf("http://%s:8090/", e.IP), 10); err != nil || len(seen) != 2 {
				return fmt.Errorf("%s:8090 reached %v (%v), want both web tasks", e.Name, seen, err)
			}
			got, err := fetch(fmt.Sprintf("http://%s:5000/v2/", e.IP))
			if err != nil || got != "{}" {
				return fmt.Errorf("%s:5000/v2/ answered %q (%v), want the registry's {}", e.Name, got, err)
			}
			return nil
		})
		if err != nil {
			bin := testbed.BuildBinary(t, "swarm/cmd/swarm")
			t.Fatalf("%v\nthe mesh on %s:\n%s\ntasks:\n%s", err, e.Name, printMesh(t, bin, e),
				cli(t, m, true, "ps", "-a", "--format", "{{.Names}} {{.Status}} {{.Networks}}"))
		}
	}
	cli(t, m, true, "stack", "rm", "seeds")
}

// registryImage makes the image stackregistry:test on every engine: busybox with Debian's docker-registry
// (and the C library it links) and a configuration serving :5000.
func registryImage(t *testing.T, bed *testbed.Bed, dir string) {
	t.Helper()
	root := filepath.Join(dir, "registry-root")
	files := map[string]string{"/usr/bin/docker-registry": "bin/registry", "/lib/x86_64-linux-gnu/libc.so.6": "lib/x86_64-linux-gnu/libc.so.6",
		"/lib64/ld-linux-x86-64.so.2": "lib64/ld-linux-x86-64.so.2"}
	for from, to := range files {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatalf("the registry image needs %s (Debian package docker-registry): %v", from, err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, to)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, to), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "etc", "registry.yml"), "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\nhttp:\n  addr: :5000\n")
	for _, e := range bed.Engines {
		docker(t, e, "create", "--name", "registry-base", "busybox")
		docker(t, e, "cp", root+"/.", "registry-base:/")
		docker(t, e, "commit", "--change", `CMD ["/bin/registry", "serve", "/etc/registry.yml"]`, "registry-base", "stackregistry:test")
		docker(t, e, "rm", "registry-base")
	}
}

// secretNowhere checks that the secret's value is in no answer of the manager (inspect of the task, its
// service, the secret; events; info) and in no key of Consul.
func secretNowhere(t *testing.T, m *clustertest.Manager, client *api.Client, task string) {
	t.Helper()
	for _, args := range [][]string{
		{"inspect", task}, {"service", "inspect", "app_web"}, {"secret", "inspect", "app_pw"}, {"info"},
		{"events", "--since", "10m", "--until", strconv.FormatInt(time.Now().Unix(), 10)}, {"logs", task},
	} {
		if out := cli(t, m, true, args...); strings.Contains(out, stackSecret) {
			t.Fatalf("docker %s shows the secret's value", strings.Join(args, " "))
		}
	}
	if metrics, err := m.Get("/metrics"); err != nil || strings.Contains(string(metrics), stackSecret) {
		t.Fatalf("/metrics: the secret shows, or it failed: %v", err)
	}
	pairs, _, err := client.KV().List(prefix+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		if strings.Contains(string(p.Value), stackSecret) {
			t.Fatalf("Consul holds the secret in clear at %s", p.Key)
		}
	}
}

// rolledOut waits until svc runs want tasks of image, then checks they were started one at a time, at least
// delay apart (the update's parallelism 1 and delay).
func rolledOut(t *testing.T, m *clustertest.Manager, svc, image string, want int, delay time.Duration) {
	t.Helper()
	var ids []string
	err := clustertest.WaitFor(90*time.Second, func() error {
		ids = strings.Fields(cli(t, m, true, "service", "ps", "-q", "--filter", "desired-state=running", svc))
		imgs := cli(t, m, true, "service", "ps", "--filter", "desired-state=running", "--format", "{{.Image}} {{.CurrentState}}", svc)
		if len(ids) != want || strings.Count(imgs, image+" Running") != want {
			return fmt.Errorf("%s: running tasks %v:\n%s", svc, ids, imgs)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var created []time.Time
	for _, id := range ids {
		at, err := time.Parse(time.RFC3339Nano, cli(t, m, true, "inspect", "--type", "task", "--format", "{{.CreatedAt.Format \"2006-01-02T15:04:05.999999999Z07:00\"}}", id))
		if err != nil {
			t.Fatal(err)
		}
		created = append(created, at)
	}
	slices.SortFunc(created, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(created); i++ {
		if gap := created[i].Sub(created[i-1]); gap < delay-200*time.Millisecond {
			t.Fatalf("%s's new tasks were created %v apart, less than the update's delay %v: %v", svc, gap, delay, created)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// stackGone checks that nothing of stack is left: no service, task container (on any engine), network (nor
// an engine's copy), secret or config, in the manager's answers, on the engines and in Consul.
func stackGone(t *testing.T, m *clustertest.Manager, bed *testbed.Bed, client *api.Client, stack string) {
	t.Helper()
	label := "label=com.docker.stack.namespace=" + stack
	err := clustertest.WaitFor(60*time.Second, func() error {
		for _, e := range bed.Engines {
			if got := docker(t, e, "ps", "-aq", "--filter", "name="+stack+"_"); got != "" {
				return fmt.Errorf("%s keeps task containers of %s: %s", e.Name, stack, got)
			}
			if got := docker(t, e, "network", "ls", "-q", "--filter", "name="+stack+"_"); got != "" {
				return fmt.Errorf("%s keeps a network copy of %s: %s", e.Name, stack, got)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"service", "ls", "-q", "--filter", label}, {"network", "ls", "-q", "--filter", label},
		{"secret", "ls", "-q", "--filter", label}, {"config", "ls", "-q", "--filter", label},
	} {
		if got := cli(t, m, true, args...); got != "" {
			t.Fatalf("docker %s: %q after stack rm", strings.Join(args, " "), got)
		}
	}
	for _, dir := range []string{"services", "secrets", "configs"} {
		keys, _, err := client.KV().Keys(prefix+"/swarm/"+dir+"/", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) > 0 {
			t.Fatalf("left in Consul after stack rm: %v", keys)
		}
	}
}

// Bad input with the real CLI: a compose key the cluster cannot honour refuses that service's create with a
// 400 naming the key (what the CLI made before it stays listed and goes with `stack rm`); a missing external
// network is the CLI's own error; a secret on a manager without the managers' key is refused.
func TestAStackThatAsksTooMuchIsRefusedAndCleanedUp(t *testing.T) {
	bed, _, client := hosts(t, 2)
	m := stackManager(t, bed)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yml")
	write(t, bad, `version: "3.8"
services:
  ok:
    image: stacktest:v1
    command: ["sleep", "100000"]
  capped:
    image: stacktest:v1
    command: ["sleep", "100000"]
    deploy:
      placement:
        max_replicas_per_node: 1
`)
	msg := cli(t, m, false, "stack", "deploy", "--resolve-image", "never", "-c", bad, "bad")
	if !strings.Contains(msg, "max_replicas_per_node") {
		t.Fatalf("stack deploy of a service with max_replicas_per_node: %q, want the key named", msg)
	}
	if got := cli(t, m, true, "network", "ls", "--filter", "label=com.docker.stack.namespace=bad", "--format", "{{.Name}}"); got != "bad_default" {
		t.Fatalf("network ls after the refused deploy: %q, want bad_default (made before the refusal)", got)
	}
	if got := cli(t, m, true, "service", "ls", "--format", "{{.Name}}", "--filter", "name=bad_capped"); got != "" {
		t.Fatalf("the refused service exists: %q", got)
	}
	cli(t, m, true, "stack", "rm", "bad")
	stackGone(t, m, bed, client, "bad")

	ext := filepath.Join(dir, "ext.yml")
	write(t, ext, `version: "3.8"
services:
  s:
    image: stacktest:v1
    networks: [outside]
networks:
  outside:
    external: true
    name: nosuchnet
`)
	if msg := cli(t, m, false, "stack", "deploy", "-c", ext, "ext"); !strings.Contains(msg, `network "nosuchnet" is declared as external, but could not be found`) {
		t.Fatalf("stack deploy with a missing external network: %q", msg)
	}

	// A manager without the key refuses secrets and says how to give it one; configs still work there.
	bin := testbed.BuildBinary(t, "swarm/cmd/swarm")
	keyless := clustertest.StartManager(t, bin, "consul://"+bed.ConsulAddr+"/"+prefix+"-keyless")
	out, err := keyless.Docker(nil, "secret", "create", "pw", filepath.Join(dir, "bad.yml"))
	if err == nil || !strings.Contains(err.Error(), "--secrets-key") {
		t.Fatalf("secret create on a manager without a key: %v %s, want a refusal naming --secrets-key", err, out)
	}
	if _, err := keyless.Docker(nil, "config", "create", "cfg", filepath.Join(dir, "bad.yml")); err != nil {
		t.Fatalf("config create on a manager without a key: %v", err)
	}
}
