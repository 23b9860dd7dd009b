//go:build integration

package manage_test

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"swarm/internal/clustertest"
	"swarm/internal/testbed"
)

// schedBed is a 3-engine bed whose node-1 was started with `--label disk=ssd`, with joins and a spread manager.
func schedBed(t *testing.T) (*testbed.Bed, *clustertest.Manager) {
	t.Helper()
	bed := testbed.Start(t, testbed.Options{Engines: 3, Consul: true, EngineLabels: map[int][]string{1: {"disk=ssd"}}})
	disc := "consul://" + bed.ConsulAddr + "/swarm"
	for _, e := range bed.Engines {
		clustertest.StartJoin(t, testbed.SwarmBinary(t), e.Addr, disc)
	}
	return bed, startManager(t, disc)
}

func startManager(t *testing.T, disc string, args ...string) *clustertest.Manager {
	t.Helper()
	m := clustertest.StartManager(t, testbed.SwarmBinary(t), disc, append([]string{"--heartbeat=1s"}, args...)...)
	if err := m.WaitHealthy(3, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return m
}

// nodeOf is the node the manager says a container runs on.
func (d *docker) nodeOf(name string) string {
	d.t.Helper()
	return d.ok("inspect", "-f", "{{.Node.Name}}", name)
}

// placements counts containers per node, rendered "node-0:2 node-1:2 node-2:2" (nodes sorted).
func (d *docker) placements(names []string) string {
	d.t.Helper()
	count := map[string]int{}
	for _, n := range names {
		count[d.nodeOf(n)]++
	}
	var out []string
	for node, c := range count {
		out = append(out, fmt.Sprintf("%s:%d", node, c))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// rejected runs a command expected to fail placement and returns the daemon's message.
func (d *docker) rejected(args ...string) string {
	d.t.Helper()
	err := d.fails(args...)
	msg := err.Error()
	if i := strings.Index(msg, "Error response from daemon: "); i >= 0 {
		msg = msg[i+len("Error response from daemon: "):]
		return strings.TrimSpace(strings.SplitN(msg, "\n\nRun 'docker", 2)[0])
	}
	d.t.Fatalf("no daemon error in %q", msg)
	return ""
}

func TestSchedulingThroughDockerCLI(t *testing.T) {
	bed, m := schedBed(t)
	d := dockerFor(t, m, nil)
	var spread []string
	for i := 0; i < 6; i++ {
		spread = append(spread, fmt.Sprintf("spread%d", i))
		d.ok("run", "-d", "--name", spread[i], "busybox", "sleep", "1000")
	}
	expect(t, "spread of 6 containers", d.placements(spread), "node-0:2 node-1:2 node-2:2")

	t.Run("constraints", func(t *testing.T) {
		d := dockerFor(t, m, nil)
		d.ok("run", "-d", "--name", "c-env", "-e", "constraint:node==node-1", "busybox", "sleep", "1000")
		expect(t, "constraint:node==node-1 (env)", d.nodeOf("c-env"), "node-1")
		d.ok("run", "-d", "--name", "c-label", "--label", `com.docker.swarm.constraints=["node==node-1"]`, "busybox", "sleep", "1000")
		expect(t, "constraint node==node-1 (label)", d.nodeOf("c-label"), "node-1")
		d.ok("run", "-d", "--name", "c-glob", "-e", "constraint:node==*-2", "busybox", "sleep", "1000")
		expect(t, "constraint:node==*-2 (glob)", d.nodeOf("c-glob"), "node-2")
		d.ok("run", "-d", "--name", "c-ssd", "-e", "constraint:disk==ssd", "busybox", "sleep", "1000")
		expect(t, "engine label constraint:disk==ssd", d.nodeOf("c-ssd"), "node-1")
		d.ok("run", "-d", "--name", "c-not1", "-e", "constraint:node!=node-1", "-e", "constraint:ostype==linux", "busybox", "sleep", "1000")
		if n := d.nodeOf("c-not1"); n == "node-1" {
			t.Fatalf("constraint:node!=node-1 placed on %s", n)
		}
		expect(t, "unmet constraint", d.rejected("run", "-d", "-e", "constraint:disk==hdd", "busybox", "true"),
			"Unable to find a node that satisfies the following conditions \n[available container slots]\n[disk==hdd (soft=false)]\n"+
				`no suitable node (constraint "disk==hdd" not met on 3 nodes)`)
		expectContains(t, "malformed constraint", d.rejected("run", "-d", "-e", "constraint:disk=ssd", "busybox", "true"),
			`invalid constraint expression "disk=ssd": use key==value or key!=value`)
		expectContains(t, "bad reschedule policy", d.rejected("run", "-d", "-e", "reschedule:false", "busybox", "true"),
			"invalid reschedule policy: false\n")
		// docker save of images that no one node holds: the original's words, then ours.
		for i, tag := range []string{"onlyzero:1", "onlyone:1"} {
			if out, err := clustertest.Docker("tcp://"+bed.Engines[i].Addr, nil, "", "tag", "busybox", tag); err != nil {
				t.Fatalf("tag %s on %s: %v %s", tag, bed.Engines[i].Name, err, out)
			}
		}
		expectContains(t, "save of images no node holds together", d.rejected("save", "-o", filepath.Join(t.TempDir(), "images.tar"), "onlyzero:1", "onlyone:1"),
			"Unable to find a healthy engine containing all images\n")
	})

	t.Run("affinities and dependencies", func(t *testing.T) {
		d := dockerFor(t, m, nil)
		d.ok("run", "-d", "--name", "anchor", "-v", "/data", "-e", "constraint:node==node-2", "busybox", "sleep", "1000")
		d.ok("run", "-d", "--name", "beside", "-e", "affinity:container==anchor", "busybox", "sleep", "1000")
		expect(t, "affinity:container==anchor", d.nodeOf("beside"), "node-2")
		d.ok("run", "-d", "--name", "linked", "--link", "anchor:a", "busybox", "sleep", "1000")
		expect(t, "--link anchor", d.nodeOf("linked"), "node-2")
		d.ok("run", "-d", "--name", "volfrom", "--volumes-from", "anchor", "busybox", "sleep", "1000")
		expect(t, "--volumes-from anchor", d.nodeOf("volfrom"), "node-2")
		d.ok("run", "-d", "--name", "netshare", "--net", "container:anchor", "busybox", "sleep", "1000")
		expect(t, "--net container:anchor", d.nodeOf("netshare"), "node-2")
		d.ok("run", "-d", "--name", "softmiss", "-e", "affinity:container==~nosuch", "busybox", "sleep", "1000")
		expectContains(t, "soft affinity to a missing container places", d.nodeOf("softmiss"), "node-")
		expect(t, "hard affinity to a missing container", d.rejected("run", "-d", "-e", "affinity:container==nosuch", "busybox", "true"),
			"Unable to find a node that satisfies the following conditions \n[available container slots]\n[container==nosuch (soft=false)]\n"+
				`no suitable node (affinity "container==nosuch" not met on 3 nodes)`)
		expect(t, "a missing dependency", d.rejected("run", "-d", "--volumes-from", "nosuch", "busybox", "true"),
			"Unable to find a node that satisfies the following conditions \n[available container slots]\n[--volumes-from=nosuch]\n"+
				`no suitable node (container "nosuch" (--volumes-from) not on 3 nodes)`)
		expect(t, "a whitelist of no node", d.rejected("run", "-d", "-e", "whitelist:node==nosuch", "busybox", "true"),
			"Unable to find a node that satisfies the following conditions \n[available container slots]\n[nosuch]\n"+
				`no suitable node (not in whitelist "nosuch" on 3 nodes)`)
		expect(t, "more memory than any node has", d.rejected("run", "-d", "-m", "100000g", "busybox", "true"),
			"no resources available to schedule container\nno suitable node (not enough free memory on 3 nodes)")
		d.ok("run", "-d", "--name", "away", "-e", "affinity:container!=anchor", "-e", "constraint:node!=node-0", "busybox", "sleep", "1000")
		expect(t, "anti-affinity and constraint", d.nodeOf("away"), "node-1")
		// As the original: references written with the engine's leading slash, and `\!` in a label (its docs'
		// escape for bash).
		d.ok("run", "-d", "--name", "slashvol", "--volumes-from", "/anchor", "busybox", "sleep", "1000")
		expect(t, "--volumes-from /anchor", d.nodeOf("slashvol"), "node-2")
		d.ok("run", "-d", "--name", "slashnet", "--net", "container:/anchor", "busybox", "sleep", "1000")
		expect(t, "--net container:/anchor", d.nodeOf("slashnet"), "node-2")
		d.ok("run", "-d", "--name", "slashlink", "--link", "/anchor:a2", "busybox", "sleep", "1000")
		expect(t, "--link /anchor:a2", d.nodeOf("slashlink"), "node-2")
		d.ok("run", "-d", "--name", "escaped", "--label", `com.docker.swarm.affinities=["container\!=anchor"]`,
			"-e", "constraint:node!=node-0", "busybox", "sleep", "1000")
		expect(t, `affinities=["container\!=anchor"]`, d.nodeOf("escaped"), "node-1")
	})

	t.Run("an image only some nodes hold", func(t *testing.T) {
		// Its registry refuses at once: a pull fails wherever the image is not, and the create goes to its holder.
		const img = "127.0.0.1:1/onlyzero:1"
		if out, err := clustertest.Docker("tcp://"+bed.Engines[0].Addr, nil, "", "tag", "busybox", img); err != nil {
			t.Fatalf("tag on node-0: %v %s", err, out)
		}
		d := dockerFor(t, m, nil)
		var names []string
		for i := 0; i < 3; i++ {
			names = append(names, fmt.Sprintf("holder%d", i))
			d.ok("run", "-d", "--name", names[i], img, "sleep", "1000")
		}
		expect(t, "three runs of an image only node-0 holds", d.placements(names), "node-0:3")
		msg := d.rejected("run", "-d", "-e", "constraint:node!=node-0", img, "true")
		expectContains(t, "no holder may take it", msg, "could not be pulled")
		expectContains(t, "no holder may take it", msg, "no node that holds it can take the container")
	})

	t.Run("ports", func(t *testing.T) {
		d := dockerFor(t, m, nil)
		var web []string
		for i := 0; i < 3; i++ {
			web = append(web, fmt.Sprintf("web8080-%d", i))
			d.ok("run", "-d", "--name", web[i], "-p", "8080:80", "busybox", "sleep", "1000")
		}
		expect(t, "three -p 8080:80", d.placements(web), "node-0:1 node-1:1 node-2:1")
		expect(t, "fourth -p 8080:80", d.rejected("run", "-d", "-p", "8080:80", "busybox", "sleep", "1000"),
			"Unable to find a node that satisfies the following conditions \n[port 8080 (Bridge mode)]\nno suitable node (port 8080 in use on 3 nodes)")
	})

	t.Run("parallel ports", func(t *testing.T) {
		placed, msgs := parallelRuns(t, m, 12, "-p", "9090:80")
		if placed != 3 {
			t.Fatalf("12 parallel -p 9090:80 placed %d, want 3", placed)
		}
		for msg, n := range msgs {
			expectContains(t, fmt.Sprintf("%d failures", n), msg, "no suitable node (port 9090 in use on 3 nodes)")
		}
	})

	t.Run("binpack", func(t *testing.T) {
		// A second, binpack manager on the same discovery; the spread manager's containers are removed first.
		d.ok(append([]string{"rm", "-f"}, strings.Fields(d.ok("ps", "-aq"))...)...)
		bp := dockerFor(t, startManager(t, "consul://"+bed.ConsulAddr+"/swarm", "--strategy", "binpack"), nil)
		var packed []string
		for i := 0; i < 4; i++ {
			packed = append(packed, fmt.Sprintf("packed%d", i))
			bp.ok("run", "-d", "--name", packed[i], "busybox", "sleep", "1000")
		}
		got := bp.placements(packed)
		if strings.Contains(got, " ") || !strings.HasSuffix(got, ":4") {
			t.Fatalf("binpack placed 4 containers as %q, want all on one node", got)
		}
	})
}

// parallelRuns starts n `docker run -d ARGS busybox sleep 1000` at once; it returns how many succeeded and the
// failure messages with their counts.
func parallelRuns(t *testing.T, m *clustertest.Manager, n int, args ...string) (int, map[string]int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	placed, msgs := 0, map[string]int{}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run := append(append([]string{"run", "-d"}, args...), "busybox", "sleep", "1000")
			_, err := m.Docker(nil, run...)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				placed++
				return
			}
			msgs[err.Error()[strings.Index(err.Error(), ": ")+2:]]++
		}()
	}
	wg.Wait()
	return placed, msgs
}
