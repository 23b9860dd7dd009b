//go:build integration

package agent_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"swarm/internal/clustertest"
	"swarm/overlay/netstate"
)

// A service with a health check, published on the mesh with the Docker CLI: its tasks get no connection
// while their check has not passed (the port does not answer, no host spreads over them); once one task's
// check passes every request reaches it alone, once the other's does both are reached. The engine reports
// the changes as "health_status: healthy" and "health_status: unhealthy"; a task whose check fails again is
// marked unhealthy in Consul (before the manager replaces it).
func TestATaskWithAHealthCheckGetsConnectionsOnlyOnceItPasses(t *testing.T) {
	bed, st, _ := hosts(t, 2)
	m, bin := manager(t, bed)
	since := time.Now()
	// The start period keeps a failing task starting (not unhealthy, so not replaced) until its first pass.
	cli(t, m, true, "service", "create", "-d", "--name", "hcweb", "--replicas", "2", "-p", "82:80",
		"--health-cmd", "test -f /tmp/ok", "--health-interval", "1s", "--health-retries", "1", "--health-start-period", "10m",
		"busybox", "sh", "-c", "hostname > /tmp/index.html && exec httpd -f -p 80 -h /tmp")
	ips := taskAddrs(t, m, "hcweb", "ingress", 2)
	tasks := strings.Fields(cli(t, m, true, "ps", "-q", "--filter", "label=com.docker.swarm.service.name=hcweb"))
	hostname := map[string]string{}
	for _, id := range tasks {
		hostname[id] = cli(t, m, true, "inspect", "-f", "{{.Config.Hostname}}", id)
	}

	// Starting: both tasks are named in Consul, unhealthy, and no host spreads over them.
	records := func() []netstate.Endpoint {
		eps, _, err := st.Endpoints(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []netstate.Endpoint
		for _, e := range eps {
			if e.Service == "hcweb" {
				out = append(out, e)
			}
		}
		return out
	}
	if err := clustertest.WaitFor(30*time.Second, func() error {
		got := records()
		for _, e := range got {
			if !e.Unhealthy {
				return fmt.Errorf("task %s (%s) is not marked unhealthy before its first check passed", e.Container, e.IP)
			}
		}
		if len(got) != 2 {
			return fmt.Errorf("%d named task endpoints, want 2", len(got))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, e := range bed.Engines {
		url := "http://" + e.IP + ":82/"
		if got, err := fetch(url); err == nil {
			t.Fatalf("%s answered %q before any task was healthy", url, got)
		}
		rules := printMesh(t, bin, e)
		for _, ip := range ips {
			if strings.Contains(rules, ip) {
				t.Fatalf("%s spreads over %s before it was healthy:\n%s", e.Name, ip, rules)
			}
		}
	}

	// One task passes: every request, on every host, reaches it alone.
	first, second := tasks[0], tasks[1]
	cli(t, m, true, "exec", first, "touch", "/tmp/ok")
	for _, e := range bed.Engines {
		reaches(t, "http://"+e.IP+":82/", hostname[first])
	}
	// The other passes too: both are reached.
	cli(t, m, true, "exec", second, "touch", "/tmp/ok")
	for _, e := range bed.Engines {
		reaches(t, "http://"+e.IP+":82/", hostname[first], hostname[second])
	}

	// Its check fails again: its record is marked unhealthy (the manager then drains and replaces it: the record
	// is followed with blocking queries, so its marking is seen before it goes).
	var rec netstate.Endpoint
	for _, e := range records() {
		if e.Container == containerName(t, m, second) {
			rec = e
		}
	}
	if rec.ID == "" || rec.Unhealthy {
		t.Fatalf("the second task's record: %+v, want it healthy", rec)
	}
	_, index, err := st.Endpoints(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	cli(t, m, true, "exec", second, "rm", "/tmp/ok")
	if err := watchRecord(st, index, rec, func(e *netstate.Endpoint) (bool, error) {
		if e == nil {
			return false, fmt.Errorf("the record of %s went without being marked unhealthy", rec.Container)
		}
		return e.Unhealthy, nil
	}); err != nil {
		t.Fatal(err)
	}

	// The engines said so with these actions (what join follows).
	var actions []string
	for _, e := range bed.Engines {
		actions = append(actions, docker(t, e, "events", "--since", fmt.Sprint(since.Unix()), "--until", fmt.Sprint(time.Now().Unix()+1),
			"--filter", "event=health_status", "--format", "{{.Action}}"))
	}
	all := strings.Join(actions, "\n")
	if !strings.Contains(all, "health_status: healthy") || !strings.Contains(all, "health_status: unhealthy") {
		t.Fatalf("the engines' health events:\n%s", all)
	}
	t.Logf("health events seen on the engines:\n%s", all)

	cli(t, m, true, "service", "rm", "hcweb")
	if err := clustertest.WaitFor(60*time.Second, func() error {
		if ps := cli(t, m, true, "ps", "-aq", "--filter", "label=com.docker.swarm.service.name=hcweb"); ps != "" {
			return fmt.Errorf("tasks left: %s", ps)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// reaches waits until 20 requests to url all succeed and have reached each task of want (by hostname); a
// request that reaches any other task fails the test at once.
func reaches(t *testing.T, url string, want ...string) {
	t.Helper()
	var seen map[string]int
	var stray string
	err := clustertest.WaitFor(30*time.Second, func() error {
		var err error
		if seen, err = spread(url, 20); err != nil {
			return err
		}
		for h := range seen {
			if !slices.Contains(want, h) {
				stray = h
				return nil
			}
		}
		if len(seen) != len(want) {
			return fmt.Errorf("20 requests reached %v, want each of %v", seen, want)
		}
		return nil
	})
	if err != nil || stray != "" {
		t.Fatalf("%s: requests reached %v (%v), want %v only", url, seen, err, want)
	}
	t.Logf("%s → %v", url, seen)
}

// containerName is a container's name as its engine (and so its endpoints' records) has it.
func containerName(t *testing.T, m *clustertest.Manager, id string) string {
	t.Helper()
	name := cli(t, m, true, "inspect", "-f", "{{.Name}}", id)
	return name[strings.LastIndex(name, "/")+1:]
}

// watchRecord follows rec's record from index on with blocking queries, so each change is seen, and calls
// check with it (nil: withdrawn) until check says done or fails; 60 s at most.
func watchRecord(st *netstate.Store, index uint64, rec netstate.Endpoint, check func(*netstate.Endpoint) (bool, error)) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		eps, next, err := st.Endpoints(ctx, index)
		if err != nil {
			return err
		}
		index = next
		var cur *netstate.Endpoint
		for i, e := range eps {
			if e.Network == rec.Network && e.Host == rec.Host && e.ID == rec.ID {
				cur = &eps[i]
			}
		}
		if done, err := check(cur); done || err != nil {
			return err
		}
	}
}
