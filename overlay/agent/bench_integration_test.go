//go:build integration

package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"swarm/internal/clustertest"
	"swarm/internal/testbed"
	"swarm/overlay/plugin"
)

// Benchmarks of cluster networks on a 2-engine bed: throughput and round-trip latency between a container on
// node-0 and one on node-1 over a cluster network (VXLAN) against the same pair of hosts over their own
// addresses (`--network host`), and how soon a container started on node-0 is found by name from node-1.
// Figures are reported (b.ReportMetric, b.Logf), never asserted; a transfer, ping or lookup that does not work
// fails the benchmark.
//
//	go test -tags integration -run '^$' -bench . -benchtime 1x ./overlay/agent/
//
// The helpers of the tests above take *testing.T; the few the benchmarks need are repeated here over testing.TB.

const (
	benchBlocks    = 16384 // 64 KiB blocks per transfer: 1 GiB
	benchBlockSize = 65536
	benchRuns      = 5 // transfers per path, alternated overlay, host, overlay, ...
	benchPings     = 50
	benchNames     = 5 // name-resolution samples
)

// Scripts put in the bench containers. Times are read with busybox's adjtimex (CLOCK_REALTIME in µs; busybox's
// date has no sub-second format), the same clock the engines stamp .State.StartedAt with (one kernel).
const (
	nowFn = `now() { adjtimex | awk '/time.tv_sec/{s=$2} /time.tv_usec/{u=$2} END{print s, u}'; }` + "\n"
	// recv.sh runs as `nc -l -p PORT -e /b/recv.sh`: stdin and stdout are the accepted connection, stderr the
	// exec's output. dd reads the socket itself in full 64 KiB blocks (busybox nc copies through a 1 KiB
	// buffer, so `nc > /dev/null` would measure nc's system calls rather than the network).
	recvScript = "#!/bin/sh\n" + nowFn + `echo "C0 $(head -1 /proc/stat)" >&2
echo "T0 $(now)" >&2
dd of=/dev/null bs=65536 iflag=fullblock
echo "T1 $(now)" >&2
echo "C1 $(head -1 /proc/stat)" >&2
`
	// send.sh BLOCKS runs as `nc IP PORT -e /b/send.sh BLOCKS`: dd writes the connection itself.
	sendScript = "#!/bin/sh\n" + nowFn + `echo "S0 $(now)" >&2
dd if=/dev/zero bs=65536 count="$1"
echo "S1 $(now)" >&2
`
	// lookup.sh NAME MODE waits (at most 60 s) until the container's resolver answers NAME's A record and
	// prints when it first did. MODE probe starts a one-shot lookup (`-timeout=1 -retry=1`: one query, one
	// second) every 50 ms without waiting for the earlier ones, so the first answer comes within 50 ms of the
	// name being answered whatever an unknown name costs. Not faster: a name not yet known is forwarded by the
	// engine's resolver to the join and by the join upstream, and held there for seconds, and the engine's
	// resolver (20.10) drops queries beyond 100 in flight, those for known names too; at 10 ms a probe run
	// saturated it and a name known in Consul within 10 ms resolved only after 13 s. MODE seq runs busybox's
	// default nslookup again and again, as a client retrying would: a lookup sent before the name is known
	// gets no answer and waits for its retransmission (2.5 s) or its 5 s timeout.
	lookupScript = "#!/bin/sh\n" + nowFn + `echo "L0 $(now)"
touch /tmp/polling.$1
end=$(( $(date +%s) + 60 ))
n=0
if [ "$2" = seq ]; then
	while ! nslookup -type=a "$1" >/tmp/ans.$1 2>&1; do
		n=$((n+1))
		if [ "$(date +%s)" -ge "$end" ]; then echo "TIMEOUT after $n lookups"; exit 1; fi
		usleep 10000
	done
	echo "L1 $(now) $n"
	cat /tmp/ans.$1
	exit 0
fi
while [ ! -e /tmp/found.$1 ]; do
	( if nslookup -type=a -timeout=1 -retry=1 "$1" >/tmp/ns.$1.$n 2>&1; then
		t=$(now)
		if mkdir /tmp/found.$1 2>/dev/null; then echo "L1 $t $n" >/tmp/l1.$1; cp /tmp/ns.$1.$n /tmp/ans.$1; fi
	fi
	rm -f /tmp/ns.$1.$n ) &
	n=$((n+1))
	if [ "$(date +%s)" -ge "$end" ]; then echo "TIMEOUT after $n probes"; exit 1; fi
	usleep 50000
done
wait
cat /tmp/l1.$1 /tmp/ans.$1
`
)

type benchBed struct {
	bed    *testbed.Bed
	m      *clustertest.Manager
	consul *api.Client
}

// startBenchBed is hosts(t, n) plus a manager, over testing.TB.
func startBenchBed(tb testing.TB, n int) *benchBed {
	tb.Helper()
	bed := testbed.Start(tb, testbed.Options{Engines: n, Consul: true})
	bin := testbed.BuildBinary(tb, "swarm/cmd/swarm")
	disc := "consul://" + bed.ConsulAddr + "/" + prefix
	for _, e := range bed.Engines {
		clustertest.StartJoinIn(tb, e.Netns, bin, e.Addr, disc, "--plugin-dir="+e.PluginDir)
	}
	for _, e := range bed.Engines {
		sock := filepath.Join(e.PluginDir, plugin.Name+".sock")
		if err := clustertest.WaitFor(20*time.Second, func() error { _, err := os.Stat(sock); return err }); err != nil {
			tb.Fatalf("the join beside %s never served its plugin: %v", e.Name, err)
		}
	}
	m := clustertest.StartManager(tb, bin, disc)
	if err := m.WaitHealthy(n, 60*time.Second); err != nil {
		tb.Fatal(err)
	}
	client, err := api.NewClient(&api.Config{Address: bed.ConsulAddr})
	if err != nil {
		tb.Fatal(err)
	}
	return &benchBed{bed: bed, m: m, consul: client}
}

// watchEndpoint follows the endpoints in Consul (blocking queries) from now on and sends on the returned
// channels when a new endpoint first shows (node-0's join published it, during the engine's join) and when an
// endpoint named name shows (node-0's join learnt the name from its engine and published it); zero times if
// not within ctx.
func (bb *benchBed) watchEndpoint(ctx context.Context, tb testing.TB, name string) (added, named <-chan time.Time) {
	tb.Helper()
	kv, dir := bb.consul.KV(), prefix+"/networks/endpoints/"
	pairs, meta, err := kv.List(dir, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		tb.Fatal(err)
	}
	before := map[string]bool{}
	for _, p := range pairs {
		before[p.Key] = true
	}
	a, n := make(chan time.Time, 1), make(chan time.Time, 1)
	go func() {
		defer close(a)
		defer close(n)
		index, sawNew := meta.LastIndex, false
		for ctx.Err() == nil {
			pairs, meta, err := kv.List(dir, (&api.QueryOptions{WaitIndex: index, WaitTime: 10 * time.Second}).WithContext(ctx))
			now := time.Now()
			if err != nil {
				continue
			}
			index = meta.LastIndex
			for _, p := range pairs {
				if !before[p.Key] && !sawNew {
					sawNew = true
					a <- now
				}
				if strings.Contains(string(p.Value), `"container":"`+name+`"`) {
					if !sawNew {
						a <- now
					}
					n <- now
					return
				}
			}
		}
	}()
	return a, n
}

// cli is the tests' cli(t, m, true, ...) over testing.TB.
func (bb *benchBed) cli(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := bb.m.Docker(nil, args...)
	if err != nil {
		tb.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// container runs a busybox `sleep` on node-N through the manager with net as its network, and puts the
// scripts in it.
func (bb *benchBed) container(tb testing.TB, name string, node int, net string) {
	tb.Helper()
	bb.cli(tb, "run", "-d", "--name", name, "--network", net, "-e", fmt.Sprintf("constraint:node==node-%d", node), "busybox", "sleep", "86400")
	for file, body := range map[string]string{"recv.sh": recvScript, "send.sh": sendScript, "lookup.sh": lookupScript} {
		out, err := clustertest.Docker("tcp://"+bb.m.Addr, nil, body, "exec", "-i", name, "sh", "-c",
			"mkdir -p /b && cat > /b/"+file+" && chmod +x /b/"+file)
		if err != nil {
			tb.Fatalf("putting %s in %s: %v\n%s", file, name, err, out)
		}
	}
}

// vxlanRX is how many packets the VXLAN devices of e have received.
func vxlanRX(tb testing.TB, e *testbed.Engine) uint64 {
	tb.Helper()
	out, err := osexec.Command("ip", "-n", e.Netns, "-s", "-j", "link", "show", "type", "vxlan").Output()
	if err != nil {
		tb.Fatalf("ip link on %s: %v", e.Name, err)
	}
	var links []struct {
		Stats struct {
			RX struct{ Packets uint64 } `json:"rx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		tb.Fatalf("reading %s's VXLAN devices: %v %s", e.Name, err, out)
	}
	var n uint64
	for _, l := range links {
		n += l.Stats.RX.Packets
	}
	return n
}

// stamp parses "TAG SEC USEC" from a script's output.
func stamp(tb testing.TB, out, tag string) time.Time {
	tb.Helper()
	m := regexp.MustCompile(`(?m)^` + tag + ` (\d+) (\d+)`).FindStringSubmatch(out)
	if m == nil {
		tb.Fatalf("no %s time in:\n%s", tag, out)
	}
	s, _ := strconv.ParseInt(m[1], 10, 64)
	us, _ := strconv.ParseInt(m[2], 10, 64)
	return time.Unix(s, us*1000)
}

// transfer sends 1 GiB from client to server (listening on ip:port) and returns the receiver's MB/s (10^6
// bytes/s), from its own clock: accept to EOF of the 16,384 full 64 KiB blocks; the sender's (its dd's start to
// end: the last socket buffer's worth may still be in flight); and how busy the machine's CPUs were meanwhile.
func (bb *benchBed) transfer(tb testing.TB, server, client, ip string, port int) (recvMBs, sendMBs, cpu float64) {
	tb.Helper()
	var wg sync.WaitGroup
	var sout string
	var serr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		sout, serr = bb.m.Docker(nil, "exec", server, "sh", "-c", fmt.Sprintf("nc -l -p %d -e /b/recv.sh 2>&1", port))
	}()
	listening := func() error {
		out, err := bb.m.Docker(nil, "exec", server, "netstat", "-ltn")
		if err != nil {
			return err
		}
		if !strings.Contains(out, fmt.Sprintf(":%d ", port)) {
			return fmt.Errorf("%s does not listen on %d yet", server, port)
		}
		return nil
	}
	if err := clustertest.WaitFor(20*time.Second, listening); err != nil {
		tb.Fatal(err)
	}
	cout, err := bb.m.Docker(nil, "exec", client, "sh", "-c", fmt.Sprintf("nc %s %d -e /b/send.sh %d 2>&1", ip, port, benchBlocks))
	if err != nil {
		tb.Fatalf("sender %s → %s:%d: %v\n%s", client, ip, port, err, cout)
	}
	wg.Wait()
	if serr != nil {
		tb.Fatalf("receiver %s: %v\n%s", server, serr, sout)
	}
	want := fmt.Sprintf("%d+0 records in", benchBlocks)
	if !strings.Contains(sout, want) {
		tb.Fatalf("transfer %s → %s:%d incomplete: the receiver's dd says\n%s\nwant %q", client, ip, port, sout, want)
	}
	bytes := float64(benchBlocks * benchBlockSize)
	recv := stamp(tb, sout, "T1").Sub(stamp(tb, sout, "T0")).Seconds()
	send := stamp(tb, cout, "S1").Sub(stamp(tb, cout, "S0")).Seconds()
	return bytes / recv / 1e6, bytes / send / 1e6, cpuShare(tb, sout)
}

// pingStats pings ip from client benchPings times every 0.2 s: first (the first echo's), min, avg, max RTT in ms.
func (bb *benchBed) pingStats(tb testing.TB, client, ip string) (first, min, avg, max float64) {
	tb.Helper()
	out := bb.cli(tb, "exec", client, "ping", "-c", strconv.Itoa(benchPings), "-i", "0.2", ip)
	rx := regexp.MustCompile(`(\d+) packets transmitted, (\d+) packets received`).FindStringSubmatch(out)
	rtt := regexp.MustCompile(`min/avg/max = ([\d.]+)/([\d.]+)/([\d.]+) ms`).FindStringSubmatch(out)
	seq0 := regexp.MustCompile(`seq=0 ttl=\d+ time=([\d.]+) ms`).FindStringSubmatch(out)
	if rx == nil || rtt == nil || seq0 == nil {
		tb.Fatalf("ping %s from %s:\n%s", ip, client, out)
	}
	if rx[2] != strconv.Itoa(benchPings) {
		tb.Fatalf("ping %s from %s: %s of %s answered:\n%s", ip, client, rx[2], rx[1], out)
	}
	f := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	return f(seq0[1]), f(rtt[1]), f(rtt[2]), f(rtt[3])
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// cpuShare is the share of the machine's CPUs (all but idle, iowait and steal, /proc/stat: one kernel for the whole
// bed) busy between the receiver's C0 and C1 lines, in % of all CPUs.
func cpuShare(tb testing.TB, out string) float64 {
	tb.Helper()
	ticks := func(tag string) (busy, total float64) {
		m := regexp.MustCompile(`(?m)^` + tag + ` cpu +([\d ]+)$`).FindStringSubmatch(out)
		if m == nil {
			tb.Fatalf("no %s CPU line in:\n%s", tag, out)
		}
		for i, v := range strings.Fields(m[1]) {
			x, _ := strconv.ParseFloat(v, 64)
			total += x
			if i != 3 && i != 4 && i != 7 {
				busy += x
			}
		}
		return busy, total
	}
	b0, t0 := ticks("C0")
	b1, t1 := ticks("C1")
	return 100 * (b1 - b0) / (t1 - t0)
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// BenchmarkClusterNetwork runs on one bed: a first ping each way (logged), latency, then throughput, then name
// resolution on a network of its own.
func BenchmarkClusterNetwork(b *testing.B) {
	b.Logf("load average at start: %s", loadavg())
	bb := startBenchBed(b, 2)
	e0 := bb.bed.Engines[0]
	bb.cli(b, "network", "create", "-d", "overlay", "--attachable", "bench")
	bb.container(b, "ov0", 0, "bench")
	bb.container(b, "ov1", 1, "bench")
	bb.container(b, "h0", 0, "host")
	bb.container(b, "h1", 1, "host")
	ovIP := bb.cli(b, "inspect", "-f", `{{(index .NetworkSettings.Networks "bench").IPAddress}}`, "ov0")
	if ovIP == "" {
		b.Fatal("ov0 has no address on bench")
	}
	b.Logf("overlay: ov1 (node-1) → ov0 %s (node-0); host: h1 (node-1) → h0 %s (node-0)", ovIP, e0.IP)
	// Both paths answer before anything is measured (one run saw 50 overlay pings in a row lost right after
	// the containers started, then the path worked): how long that took is logged, and over 30 s fails.
	for _, p := range [][2]string{{"ov1", ovIP}, {"h1", e0.IP}} {
		start, tries := time.Now(), 0
		err := clustertest.WaitFor(30*time.Second, func() error {
			tries++
			_, err := bb.m.Docker(nil, "exec", p[0], "ping", "-c", "1", "-W", "1", p[1])
			return err
		})
		if err != nil {
			b.Fatalf("%s cannot ping %s after 30 s: %v", p[0], p[1], err)
		}
		b.Logf("%s → %s answered a ping at try %d, %.0f ms after the first try (docker exec included)", p[0], p[1], tries,
			time.Since(start).Seconds()*1000)
	}

	b.Run("latency", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			of, omin, oavg, omax := bb.pingStats(b, "ov1", ovIP)
			hf, hmin, havg, hmax := bb.pingStats(b, "h1", e0.IP)
			b.Logf("ping -c %d -i 0.2, RTT ms: overlay first %.3f min %.3f avg %.3f max %.3f | host first %.3f min %.3f avg %.3f max %.3f | load %s",
				benchPings, of, omin, oavg, omax, hf, hmin, havg, hmax, loadavg())
			b.ReportMetric(oavg, "overlay-avg-ms")
			b.ReportMetric(omax, "overlay-max-ms")
			b.ReportMetric(havg, "host-avg-ms")
			b.ReportMetric(hmax, "host-max-ms")
		}
	})

	b.Run("throughput", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var ov, host []float64
			for r := 0; r < benchRuns; r++ {
				port := 5001 + 2*r
				rx0 := vxlanRX(b, e0)
				o, osend, ocpu := bb.transfer(b, "ov0", "ov1", ovIP, port)
				rx1 := vxlanRX(b, e0)
				h, hs, hcpu := bb.transfer(b, "h0", "h1", e0.IP, port+1)
				rx2 := vxlanRX(b, e0)
				if rx1-rx0 < benchBlocks { // at least one (GRO-merged) packet per 64 KiB
					b.Fatalf("node-0's VXLAN devices received %d packets during the overlay transfer: it did not cross as VXLAN", rx1-rx0)
				}
				if rx2-rx1 > 1000 {
					b.Fatalf("node-0's VXLAN devices received %d packets during the host transfer", rx2-rx1)
				}
				b.Logf("run %d: overlay %.0f MB/s (sender %.0f, %d VXLAN packets in, CPUs %.0f%% busy) | host %.0f MB/s (sender %.0f, CPUs %.0f%%) | ratio %.2f | load %s",
					r+1, o, osend, rx1-rx0, ocpu, h, hs, hcpu, o/h, loadavg())
				ov, host = append(ov, o), append(host, h)
			}
			b.Logf("1 GiB × %d each: overlay first %.0f, median %.0f MB/s; host first %.0f, median %.0f MB/s; median ratio %.2f",
				benchRuns, ov[0], median(ov), host[0], median(host), median(ov)/median(host))
			b.ReportMetric(median(ov), "overlay-MB/s")
			b.ReportMetric(median(host), "host-MB/s")
			b.ReportMetric(median(ov)/median(host), "ratio")
			b.ReportMetric(ov[0], "overlay-first-MB/s")
		}
	})

	b.Run("names", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			net, waiter := fmt.Sprintf("names%d", i), fmt.Sprintf("w%d", i)
			bb.cli(b, "network", "create", "-d", "overlay", "--attachable", net)
			bb.container(b, waiter, 1, net)
			for _, mode := range []string{"probe", "seq"} {
				samples := benchNames
				if mode == "seq" {
					samples = benchNames - 2
				}
				var fromStart, fromRun, named []float64
				for s := 0; s < samples; s++ {
					r := bb.resolve(b, waiter, net, fmt.Sprintf("n%d-%s%d", i, mode, s), mode)
					fromStart, fromRun, named = append(fromStart, r.fromStart), append(fromRun, r.fromRun), append(named, r.named)
				}
				b.Logf("%s: name resolution on node-1, ms after StartedAt: first %.0f, median %.0f, max %.0f "+
					"(after the run request: first %.0f, median %.0f, max %.0f; name in Consul: median %.0f, max %.0f)",
					mode, fromStart[0], median(fromStart), maxOf(fromStart), fromRun[0], median(fromRun), maxOf(fromRun), median(named), maxOf(named))
				b.ReportMetric(median(fromStart), mode+"-median-ms")
				b.ReportMetric(maxOf(fromStart), mode+"-max-ms")
				if mode == "probe" {
					b.ReportMetric(fromStart[0], mode+"-first-ms")
				}
			}
		}
	})
	b.Logf("load average at end: %s", loadavg())
}

// resolution is one sample of resolve, in ms: from the container's StartedAt and from the moment the run was
// sent to its name first resolving on node-1, and from StartedAt to its name showing in Consul.
type resolution struct{ fromStart, fromRun, named float64 }

// resolve has waiter (on node-1, network net) look for name (lookup.sh NAME MODE), then starts a container of
// that name on node-0 through the manager and reads when the waiter's resolver first answered with its address.
func (bb *benchBed) resolve(b *testing.B, waiter, net, name, mode string) resolution {
	b.Helper()
	var wg sync.WaitGroup
	var wout string
	var werr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		wout, werr = bb.m.Docker(nil, "exec", waiter, "/b/lookup.sh", name, mode)
	}()
	polling := func() error {
		_, err := bb.m.Docker(nil, "exec", waiter, "test", "-e", "/tmp/polling."+name)
		return err
	}
	if err := clustertest.WaitFor(20*time.Second, polling); err != nil {
		b.Fatalf("%s never started looking for %s: %v", waiter, name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	addedC, namedC := bb.watchEndpoint(ctx, b, name)
	sent := time.Now()
	bb.cli(b, "run", "-d", "--name", name, "--network", net, "-e", "constraint:node==node-0", "busybox", "sleep", "86400")
	wg.Wait()
	if werr != nil {
		b.Fatalf("%s from node-1: %v\n%s", name, werr, wout)
	}
	added, named := <-addedC, <-namedC
	if named.IsZero() {
		b.Fatalf("%s resolved on node-1 but its name never showed in Consul", name)
	}
	e0 := bb.bed.Engines[0]
	at, err := clustertest.Docker("tcp://"+e0.Addr, nil, "", "inspect", "-f", "{{.State.StartedAt}}", name)
	if err != nil {
		b.Fatal(err)
	}
	started, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(at))
	if err != nil {
		b.Fatal(err)
	}
	ip, err := clustertest.Docker("tcp://"+e0.Addr, nil, "", "inspect", "-f",
		fmt.Sprintf(`{{(index .NetworkSettings.Networks %q).IPAddress}}`, net), name)
	if err != nil || !strings.Contains(wout, "Address: "+strings.TrimSpace(ip)) {
		b.Fatalf("%s resolved from node-1 to something else than its address %q (%v):\n%s", name, ip, err, wout)
	}
	if stamp(b, wout, "L0").After(sent) {
		b.Fatalf("the lookups of %s began after it was asked for", name)
	}
	found := stamp(b, wout, "L1")
	n := regexp.MustCompile(`(?m)^L1 \d+ \d+ (\d+)`).FindStringSubmatch(wout)[1]
	ms := func(t time.Time) float64 { return t.Sub(started).Seconds() * 1000 }
	r := resolution{fromStart: ms(found), fromRun: found.Sub(sent).Seconds() * 1000, named: ms(named)}
	what := "failed lookups before"
	if mode == "probe" {
		what = "probes started before the answering one"
	}
	b.Logf("%s (%s): resolved on node-1 %.0f ms after its StartedAt (%.0f ms after `docker run -d` was sent); "+
		"relative to StartedAt: endpoint in Consul %.0f ms, its name in Consul %.0f ms; %s %s | load %s",
		name, mode, r.fromStart, r.fromRun, ms(added), r.named, n, what, loadavg())
	return r
}

func maxOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		if x > m {
			m = x
		}
	}
	return m
}
