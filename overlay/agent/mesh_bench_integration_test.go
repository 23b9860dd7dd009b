//go:build integration

package agent_test

import (
	"fmt"
	"io"
	"net"
	osexec "os/exec"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"swarm/internal/clustertest"
)

// load is what a run of requests measured.
type load struct {
	n           int
	failed      int
	rps         float64
	p50, p99    time.Duration
	first       error
	answeredBy  map[string]int
	concurrency int
}

func (l load) String() string {
	return fmt.Sprintf("%7.0f req/s  p50 %5.2f ms  p99 %5.2f ms  (%d requests, %d failed, %d answering tasks)",
		l.rps, ms(l.p50), ms(l.p99), l.n, l.failed, len(l.answeredBy))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// dialer opens a TCP connection to addr, from network namespace ns ("" = this process's) and, when from is
// set, from that local address.
func dialer(ns, from string) func(addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 3 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	if ns == "" {
		return func(addr string) (net.Conn, error) { return d.Dial("tcp", addr) }
	}
	return func(addr string) (net.Conn, error) {
		runtime.LockOSThread() // the socket is made in the thread's namespace
		defer runtime.UnlockOSThread()
		orig, err := netns.Get()
		if err != nil {
			return nil, err
		}
		defer orig.Close()
		h, err := netns.GetFromName(ns)
		if err != nil {
			return nil, err
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			return nil, err
		}
		defer netns.Set(orig)
		return d.Dial("tcp", addr)
	}
}

// hammer sends HTTP/1.0 GETs, one connection each (so every request is spread anew), from `workers` loops for
// d, and measures them.
func hammer(dial func(string) (net.Conn, error), addr string, workers int, d time.Duration) load {
	var mu sync.Mutex
	var lat []time.Duration
	l := load{answeredBy: map[string]int{}, concurrency: workers}
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				start := time.Now()
				body, err := get(dial, addr)
				took := time.Since(start)
				mu.Lock()
				if err != nil {
					l.failed++
					if l.first == nil {
						l.first = err
					}
				} else {
					lat = append(lat, took)
					l.answeredBy[body]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	l.n = len(lat)
	l.rps = float64(len(lat)) / d.Seconds()
	if len(lat) > 0 {
		l.p50, l.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	return l
}

// hostAddressOn is the host's own address (a /32 on a cluster network's bridge, not vip) in the subnet of
// task, in namespace ns.
func hostAddressOn(tb testing.TB, ns, task, vip string) string {
	tb.Helper()
	out, err := osexec.Command("ip", "-n", ns, "-4", "-o", "addr", "show").Output()
	if err != nil {
		tb.Fatal(err)
	}
	prefix := task[:strings.LastIndex(task, ".")+1]
	for _, l := range strings.Split(string(out), "\n") {
		for _, f := range strings.Fields(l) {
			if ip, ok := strings.CutSuffix(f, "/32"); ok && ip != vip && strings.HasPrefix(ip, prefix) {
				return ip
			}
		}
	}
	tb.Fatalf("no host address beside %s in %s:\n%s", task, ns, out)
	return ""
}

// get is one request on a new connection; it returns the body.
func get(dial func(string) (net.Conn, error), addr string) (string, error) {
	c, err := dial(addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.0\r\nHost: bench\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := io.ReadAll(c)
	if err != nil {
		return "", err
	}
	head, body, ok := strings.Cut(string(resp), "\r\n\r\n")
	if !ok || !strings.Contains(head, " 200 ") {
		return "", fmt.Errorf("answer %q", resp)
	}
	return strings.TrimSpace(body), nil
}

// BenchmarkRoutingMesh measures requests through the routing mesh against the same tasks reached directly
// (BENCHMARKS.md, "Routing mesh"): 3 hosts; a service of small busybox httpd tasks on node-0 and node-1
// published on 81 in ingress mode, in two shapes (2 and 6 tasks); a classic container of the same server on
// node-0 published by the engine itself (-p 8080:80). From this process (outside every host): node-2:81 (a
// host with no task) and node-0:81 (a host with tasks) against node-0:8080. From node-2's namespace: the
// service's virtual IP on its network against one task's address on that network.
func BenchmarkRoutingMesh(b *testing.B) {
	const workers, each = 8, 3 * time.Second
	bb := startBenchBed(b, 3)
	b.Logf("load average at start: %s", loadavg())
	bb.cli(b, "network", "create", "-d", "overlay", "--attachable", "meshbench")
	serve := []string{"busybox", "sh", "-c", "hostname > /tmp/index.html && exec httpd -f -p 80 -h /tmp"}
	bb.cli(b, append([]string{"run", "-d", "--name", "direct", "-p", "8080:80", "-e", "constraint:node==node-0"}, serve...)...)
	bb.cli(b, append([]string{"service", "create", "-d", "--name", "mb", "--replicas", "2", "-p", "81:80", "--network", "meshbench",
		"--constraint", "node.hostname!=node-2"}, serve...)...)
	e := bb.bed.Engines
	vip, _, _ := strings.Cut(bb.cli(b, "service", "inspect", "--format",
		`{{range .Endpoint.VirtualIPs}}{{if eq .NetworkID "`+bb.cli(b, "network", "inspect", "-f", "{{.ID}}", "meshbench")+`"}}{{.Addr}}{{end}}{{end}}`, "mb"), "/")
	for _, replicas := range []int{2, 6} {
		bb.cli(b, "service", "scale", "mb="+fmt.Sprint(replicas))
		var task string
		if err := clustertest.WaitFor(60*time.Second, func() error {
			ids := strings.Fields(bb.cli(b, "ps", "-q", "--filter", "label=com.docker.swarm.service.name=mb"))
			if len(ids) != replicas {
				return fmt.Errorf("%d tasks", len(ids))
			}
			task = bb.cli(b, "inspect", "-f", `{{(index .NetworkSettings.Networks "meshbench").IPAddress}}`, ids[0])
			l := hammer(dialer("", ""), e[2].IP+":81", 1, 300*time.Millisecond)
			if l.failed > 0 || len(l.answeredBy) < replicas {
				return fmt.Errorf("the mesh does not reach every task yet: %v", l)
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		// node-2 reaches a task directly from its own address on the network (the gateway's is every host's).
		own := hostAddressOn(b, e[2].Netns, task, vip)
		paths := []struct{ name, ns, from, addr string }{
			{"mesh, entering on a host without a task (node-2:81)", "", "", e[2].IP + ":81"},
			{"mesh, entering on a host with tasks (node-0:81)", "", "", e[0].IP + ":81"},
			{"direct: a classic container on node-0 (-p 8080)", "", "", e[0].IP + ":8080"},
			{"from node-2: the service's VIP " + vip + ":80", e[2].Netns, "", vip + ":80"},
			{"from node-2: one task's address " + task + ":80", e[2].Netns, own, task + ":80"},
		}
		warm := make([]float64, len(paths))   // requests per second, rounds 2 and 3 summed
		for round := 1; round <= 3; round++ { // round 1 is the cold one
			for i, p := range paths {
				l := hammer(dialer(p.ns, p.from), p.addr, workers, each)
				b.Logf("%d tasks, round %d, %-55s %v", replicas, round, p.name, l)
				if l.failed > 0 {
					b.Fatalf("%s: %d requests failed, first: %v", p.name, l.failed, l.first)
				}
				if round > 1 {
					warm[i] += l.rps
				}
			}
		}
		b.Logf("%d tasks, warm: mesh via node-2 ÷ direct %.2f, via node-0 ÷ direct %.2f, VIP ÷ task %.2f", replicas,
			warm[0]/warm[2], warm[1]/warm[2], warm[3]/warm[4])
		b.ReportMetric(warm[0]/warm[2], fmt.Sprintf("mesh/direct-%dtasks", replicas))
		b.ReportMetric(warm[3]/warm[4], fmt.Sprintf("vip/task-%dtasks", replicas))
	}
	b.Logf("load average at end: %s", loadavg())
}
