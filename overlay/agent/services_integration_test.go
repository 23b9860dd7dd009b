//go:build integration

package agent_test

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"swarm/internal/clustertest"
)

// taskAddrs returns the addresses of service svc's running tasks on network nw, sorted, once there are want.
func taskAddrs(t *testing.T, m *clustertest.Manager, svc, nw string, want int) []string {
	t.Helper()
	var ips []string
	err := clustertest.WaitFor(60*time.Second, func() error {
		ips = nil
		ids := strings.Fields(cli(t, m, true, "ps", "-q", "--filter", "label=com.docker.swarm.service.name="+svc))
		for _, id := range ids {
			out, err := m.Docker(nil, "inspect", "-f", fmt.Sprintf(`{{with index .NetworkSettings.Networks %q}}{{.IPAddress}}{{end}}`, nw), id)
			if ip := strings.TrimSpace(out); err == nil && ip != "" {
				ips = append(ips, ip)
			}
		}
		if len(ids) != want || len(ips) != want {
			return fmt.Errorf("service %s: %d running tasks, %d with an address on %s; want %d", svc, len(ids), len(ips), nw, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(ips)
	return ips
}

// answered returns the addresses an nslookup output gives for its name (the server's own address excluded).
func answered(out string) []string {
	var ips []string
	_, answers, _ := strings.Cut(out, "Name:")
	for _, l := range strings.Split(answers, "\n") {
		if ip, ok := strings.CutPrefix(strings.TrimSpace(l), "Address: "); ok {
			ips = append(ips, ip)
		}
	}
	sort.Strings(ips)
	return ips
}

// A service on a cluster network, with the Docker CLI through the manager: its tasks (one per host) are on the
// network, its name answers with its virtual IP and tasks.NAME with every task's address on every host, a container on another
// host reaches it by name, a network added by an update reaches every task, the network cannot be removed
// while the service uses it, a network that does not exist is refused, and once the service is removed the
// networks go and nothing is left.
func TestServicesOnClusterNetworksAnswerByNameOnEveryHost(t *testing.T) {
	bed, _, client := hosts(t, 3)
	m, _ := manager(t, bed)
	cli(t, m, true, "network", "create", "-d", "overlay", "--attachable", "front")
	cli(t, m, true, "network", "create", "-d", "overlay", "--attachable", "back")
	cli(t, m, true, "service", "create", "-d", "--name", "web", "--network", "front", "--mode", "global",
		"busybox", "httpd", "-f", "-p", "80", "-h", "/etc")
	ips := taskAddrs(t, m, "web", "front", 3)

	lookup := func(node int, nw, script string) string {
		return cli(t, m, true, "run", "--rm", "--network", nw, "-e", fmt.Sprintf("constraint:node==node-%d", node), "busybox", "sh", "-c", script)
	}
	vipOn := func(nw string) string { // the service's virtual IP on network nw
		id := cli(t, m, true, "network", "inspect", "-f", "{{.ID}}", nw)
		vip := cli(t, m, true, "service", "inspect", "--format",
			fmt.Sprintf(`{{range .Endpoint.VirtualIPs}}{{if eq .NetworkID %q}}{{.Addr}}{{end}}{{end}}`, id), "web")
		ip, _, _ := strings.Cut(vip, "/")
		return ip
	}
	for name, want := range map[string][]string{"web": {vipOn("front")}, "tasks.web": ips} {
		out := lookup(2, "front", "nslookup "+name)
		if got := answered(out); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("nslookup %s on node-2 answers %v, want %v (the virtual IP, or every task)\n%s", name, got, want, out)
		}
	}
	// By name from each host: every request is answered by one of the tasks.
	hostnames := map[string]bool{}
	for _, id := range strings.Fields(cli(t, m, true, "ps", "-q", "--filter", "label=com.docker.swarm.service.name=web")) {
		hostnames[cli(t, m, true, "inspect", "-f", "{{.Config.Hostname}}", id)] = true
	}
	for node := range 3 {
		got := lookup(node, "front", "wget -qO- http://web/hostname")
		if !hostnames[got] {
			t.Fatalf("wget http://web/hostname from node-%d: %q, want one of the tasks' hostnames %v", node, got, hostnames)
		}
	}

	if out := cli(t, m, false, "network", "rm", "front"); !strings.Contains(out, "network front is in use by service web") {
		t.Fatalf("network rm of a service's network: %q", out)
	}
	// An update adds a network: the tasks are replaced, on both.
	cli(t, m, true, "service", "update", "-d", "--network-add", "back", "web")
	var backIPs []string
	if err := clustertest.WaitFor(90*time.Second, func() error {
		backIPs = taskAddrs(t, m, "web", "back", 3)
		if got := answered(lookup(0, "back", "nslookup tasks.web")); strings.Join(got, " ") != strings.Join(backIPs, " ") {
			return fmt.Errorf("nslookup tasks.web on back answers %v, want %v", got, backIPs)
		}
		if got, want := answered(lookup(0, "back", "nslookup web")), vipOn("back"); len(got) != 1 || got[0] != want {
			return fmt.Errorf("nslookup web on back answers %v, want its virtual IP there, %s", got, want)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if frontNow := taskAddrs(t, m, "web", "front", 3); len(frontNow) != 3 {
		t.Fatalf("after the update the tasks are on front at %v", frontNow)
	}

	// A network nobody has is refused with the reason, by the API itself (the CLI checks before it sends).
	body := `{"Name":"lost","TaskTemplate":{"ContainerSpec":{"Image":"busybox"},"Networks":[{"Target":"nosuch"}]}}`
	resp, err := http.Post("http://"+m.Addr+"/v1.41/services/create", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(msg), "network nosuch not found") {
		t.Fatalf("service create on network nosuch: %d %s", resp.StatusCode, msg)
	}
	if ls := cli(t, m, true, "service", "ls", "-q", "--filter", "name=lost"); ls != "" {
		t.Fatalf("a refused create left service %s", ls)
	}

	cli(t, m, true, "service", "rm", "web")
	if err := clustertest.WaitFor(60*time.Second, func() error {
		if ps := cli(t, m, true, "ps", "-aq", "--filter", "label=com.docker.swarm.service.name=web"); ps != "" {
			return fmt.Errorf("tasks left: %s", ps)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	cli(t, m, true, "network", "rm", "front", "back")
	nothingLeft(t, bed, client)
}
