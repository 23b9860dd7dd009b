//go:build integration

package agent_test

import (
	"fmt"
	"io"
	"net/http"
	osexec "os/exec"
	"strings"
	"testing"
	"time"

	"swarm/internal/clustertest"
	"swarm/internal/testbed"
)

// printMesh is what `swarm join --print-mesh` says in engine e's namespace (the kernel's rules, read back).
func printMesh(t *testing.T, bin string, e *testbed.Engine) string {
	t.Helper()
	out, err := osexec.Command("nsenter", "--net=/var/run/netns/"+e.Netns, bin, "join", "--print-mesh").CombinedOutput()
	if err != nil {
		t.Fatalf("swarm join --print-mesh on %s: %v\n%s", e.Name, err, out)
	}
	return strings.TrimSpace(string(out))
}

// fetch asks url on a new connection each time and returns the answer (trimmed).
func fetch(url string) (string, error) {
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b)), err
}

// spread asks url n times and counts the answers; any failure is returned.
func spread(url string, n int) (map[string]int, error) {
	seen := map[string]int{}
	for range n {
		got, err := fetch(url)
		if err != nil {
			return seen, err
		}
		seen[got]++
	}
	return seen, nil
}

// The load-balancing article's demo, through the manager with the Docker CLI: two replicas published on 81
// answer on every host, the one with no task included; a third task gets connections within 2 s; no request
// fails during a scale-down (the tasks removed are taken out of the mesh first) nor after it returns. Each join's rules are exactly the service's, gone after `service rm`,
// back as they were after a join's restart, and none are left after it stops.
func TestAPublishedPortAnswersOnEveryHostAndSpreadsOverEveryTask(t *testing.T) {
	bed, _, client := hosts(t, 3)
	m, bin := manager(t, bed)
	cli(t, m, true, "service", "create", "-d", "--name", "lbapp1", "--replicas", "2", "-p", "81:80",
		"--constraint", "node.hostname!=node-2", "busybox", "sh", "-c", "hostname > /tmp/index.html && exec httpd -f -p 80 -h /tmp")
	taskAddrs(t, m, "lbapp1", "ingress", 2)
	if vips := cli(t, m, true, "service", "inspect", "--format", "{{.Endpoint.VirtualIPs}}", "lbapp1"); !strings.Contains(vips, "/") {
		t.Fatalf("service inspect .Endpoint.VirtualIPs: %q, want the ingress network's virtual IP", vips)
	}
	if ports := cli(t, m, true, "service", "inspect", "--format", "{{range .Endpoint.Ports}}{{.PublishedPort}}:{{.TargetPort}}/{{.PublishMode}}{{end}}", "lbapp1"); ports != "81:80/ingress" {
		t.Fatalf("service inspect .Endpoint.Ports: %q", ports)
	}
	for _, node := range []int{0, 2} { // node-2 runs no task
		url := fmt.Sprintf("http://%s:81/", bed.Engines[node].IP)
		var seen map[string]int
		err := clustertest.WaitFor(10*time.Second, func() error {
			var err error
			if seen, err = spread(url, 20); err == nil && len(seen) != 2 {
				err = fmt.Errorf("20 requests reached %v, want both tasks", seen)
			}
			return err
		})
		if err != nil {
			t.Fatalf("node-%d:81: %v", node, err)
		}
		t.Logf("node-%d:81 → %v", node, seen)
	}
	rules := printMesh(t, bin, bed.Engines[2])
	if strings.Count(rules, "lbapp1") < 2 || !strings.Contains(rules, ":81") {
		t.Fatalf("node-2's rules do not show lbapp1's port 81 and virtual IP:\n%s", rules)
	}

	// Scaled up: the new task answers within 2 s of running.
	cli(t, m, true, "service", "scale", "-d", "lbapp1=3")
	taskAddrs(t, m, "lbapp1", "ingress", 3)
	running := time.Now()
	err := clustertest.WaitFor(2*time.Second, func() error {
		seen, err := spread(fmt.Sprintf("http://%s:81/", bed.Engines[2].IP), 12)
		if err == nil && len(seen) != 3 {
			err = fmt.Errorf("requests reached %v, want three tasks", seen)
		}
		return err
	})
	if err != nil {
		t.Fatalf("after scaling to 3: %v", err)
	}
	t.Logf("the third task answered %v after it was running", time.Since(running).Round(time.Millisecond))

	// Scaled down: the two tasks removed are taken out of every host's mesh before they are killed, so no
	// request fails meanwhile, however soon after the scale-down it is sent.
	cli(t, m, true, "service", "scale", "-d", "lbapp1=1")
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		if _, err := fetch(fmt.Sprintf("http://%s:81/", bed.Engines[2].IP)); err != nil {
			t.Fatalf("a request during the scale-down failed: %v", err)
		}
	}
	// Once the CLI sees the service converged, no request fails either.
	cli(t, m, true, "service", "scale", "lbapp1=1")
	for _, node := range []int{0, 1, 2} {
		seen, err := spread(fmt.Sprintf("http://%s:81/", bed.Engines[node].IP), 20)
		if err != nil || len(seen) != 1 {
			t.Fatalf("after scaling to 1, node-%d:81: %v %v", node, seen, err)
		}
	}

	// Restarting a join gives back the same rules; stopping it leaves none; removing the service removes its rules.
	before := printMesh(t, bin, bed.Engines[1])
	j := restartJoin(t, bin, bed, 1)
	if err := clustertest.WaitFor(10*time.Second, func() error {
		if after := printMesh(t, bin, bed.Engines[1]); after != before {
			return fmt.Errorf("rules after the join's restart:\n%s\nbefore:\n%s", after, before)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The restarted join serves metrics: the published port's frontend spreads over the one task left.
	metrics, err := fetch("http://" + bed.Engines[1].IP + ":9323/metrics")
	if err != nil || !strings.Contains(metrics, `swarm_mesh_backends{bridge="`) ||
		!strings.Contains(metrics, `frontend="tcp/81",service="lbapp1"} 1`) {
		t.Fatalf("node-1's join metrics (%v):\n%s", err, metrics)
	}
	stopJoin(t, j)
	if got := printMesh(t, bin, bed.Engines[1]); !strings.Contains(got, "no routing mesh") {
		t.Fatalf("after the join stopped, node-1 still has:\n%s", got)
	}
	clustertest.StartJoinIn(t, bed.Engines[1].Netns, bin, bed.Engines[1].Addr, "consul://"+bed.ConsulAddr+"/"+prefix, "--plugin-dir="+bed.Engines[1].PluginDir)
	// The CLI asks before it removes the routing mesh's network.
	rmIngress := func() (string, error) {
		return clustertest.Docker("tcp://"+m.Addr, nil, "y\n", "network", "rm", "ingress")
	}
	if out, err := rmIngress(); err == nil || !strings.Contains(out+err.Error(), "network ingress is in use by service lbapp1") {
		t.Fatalf("network rm ingress while a service publishes a port: %v %q", err, out)
	}
	cli(t, m, true, "service", "rm", "lbapp1")
	// Its tasks stop with their grace period (10 s: httpd as process 1 ignores SIGTERM), then go.
	if err := clustertest.WaitFor(40*time.Second, func() error {
		for _, node := range []int{0, 1, 2} {
			if got := printMesh(t, bin, bed.Engines[node]); strings.Contains(got, "lbapp1") {
				return fmt.Errorf("node-%d still has rules of the removed service:\n%s", node, got)
			}
		}
		if ps := cli(t, m, true, "ps", "-aq", "--filter", "label=com.docker.swarm.service.name=lbapp1"); ps != "" {
			return fmt.Errorf("tasks left: %s", ps)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Once the ingress network goes too, the hosts' own addresses and the virtual IPs go with it.
	if out, err := rmIngress(); err != nil {
		t.Fatalf("network rm ingress: %v %s", err, out)
	}
	if ls := cli(t, m, true, "network", "ls", "-q", "--filter", "name=ingress"); ls != "" {
		t.Fatalf("network ls after rm ingress: %q", ls)
	}
	nothingLeft(t, bed, client)
}

// restartJoin stops the join beside engine i (the one hosts started) and starts another; it returns the new one.
func restartJoin(t *testing.T, bin string, bed *testbed.Bed, i int) *osexec.Cmd {
	t.Helper()
	e := bed.Engines[i]
	if out, err := osexec.Command("pkill", "-INT", "-f", "join --advertise="+e.Addr+" ").CombinedOutput(); err != nil {
		t.Fatalf("stopping the join of %s: %v %s", e.Name, err, out)
	}
	if err := clustertest.WaitFor(10*time.Second, func() error {
		if osexec.Command("pgrep", "-f", "join --advertise="+e.Addr+" ").Run() == nil {
			return fmt.Errorf("the join of %s is still running", e.Name)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return clustertest.StartJoinIn(t, e.Netns, bin, e.Addr, "consul://"+bed.ConsulAddr+"/"+prefix, "--plugin-dir="+e.PluginDir,
		"--metrics-addr="+e.IP+":9323")
}

// Names by endpoint mode, from a container on the service's network: in vip mode the name answers with the
// virtual IP (the one service inspect shows) and reaches a task through it; tasks.NAME answers with every
// task; in dnsrr mode the name answers with the tasks.
func TestServiceNamesAnswerByEndpointMode(t *testing.T) {
	bed, _, _ := hosts(t, 2)
	m, _ := manager(t, bed)
	cli(t, m, true, "network", "create", "-d", "overlay", "--attachable", "app")
	serve := []string{"busybox", "sh", "-c", "hostname > /tmp/index.html && exec httpd -f -p 80 -h /tmp"}
	cli(t, m, true, append([]string{"service", "create", "-d", "--name", "web", "--network", "app", "--mode", "global"}, serve...)...)
	cli(t, m, true, append([]string{"service", "create", "-d", "--name", "rr", "--network", "app", "--mode", "global", "--endpoint-mode", "dnsrr"}, serve...)...)
	web, rr := taskAddrs(t, m, "web", "app", 2), taskAddrs(t, m, "rr", "app", 2)
	vip, _, _ := strings.Cut(cli(t, m, true, "service", "inspect", "--format", "{{range .Endpoint.VirtualIPs}}{{.Addr}}{{end}}", "web"), "/")
	if vip == "" {
		t.Fatal("service web (vip mode) shows no virtual IP")
	}
	if out := cli(t, m, true, "service", "inspect", "--format", "{{len .Endpoint.VirtualIPs}}", "rr"); out != "0" {
		t.Fatalf("service rr (dnsrr mode) shows %s virtual IPs", out)
	}
	out := cli(t, m, true, "run", "--rm", "--network", "app", "-e", "constraint:node==node-1", "busybox", "sh", "-c",
		"nslookup web; echo ==; nslookup tasks.web; echo ==; nslookup rr; echo ==; for i in 1 2 3 4 5 6 7 8; do wget -qO- http://web/; done")
	parts := strings.Split(out, "==")
	if len(parts) != 4 {
		t.Fatalf("output:\n%s", out)
	}
	for i, want := range [][]string{{vip}, web, rr} {
		if got := answered(parts[i]); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("lookup %d answered %v, want %v:\n%s", i, got, want, parts[i])
		}
	}
	hosts := map[string]bool{}
	for _, h := range strings.Fields(parts[3]) {
		hosts[h] = true
	}
	if len(hosts) != 2 {
		t.Errorf("8 requests to http://web/ through its virtual IP reached %v, want both tasks", hosts)
	}
}
