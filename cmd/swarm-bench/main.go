// Command swarm-bench measures the manager at scale on a simulated engine fleet (cmd/swarm-sim) and prints one
// table per fleet size, plus JSON for tooling. It reports; it never fails on a time.
//
//	swarm-bench --swarm bin/swarm --sim bin/swarm-sim --sizes 1000,10000 --containers 30 [--json out.json]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"swarm/internal/gcfloor"
)

type result struct {
	Engines    int     `json:"engines"`
	Containers int     `json:"containers_per_engine"`
	HealthySec float64 `json:"all_healthy_seconds"`
	PeakRSSMiB float64 `json:"manager_peak_rss_mib"`
	IdleCPUPct float64 `json:"manager_idle_cpu_percent"` // of one core, over 10 s without requests after the measures
	// StolenPct is the CPU time the hypervisor took from this (virtual) machine during the run, in % of the
	// machine's CPUs: figures from runs with much of it are not comparable with quiet ones.
	StolenPct float64        `json:"stolen_cpu_percent"`
	Measures  []stats        `json:"measures"`
	Services  *serviceResult `json:"services,omitempty"`
	Error     string         `json:"error,omitempty"`
}

func main() {
	swarm := flag.String("swarm", "bin/swarm", "swarm binary")
	sim := flag.String("sim", "bin/swarm-sim", "swarm-sim binary")
	sizes := flag.String("sizes", "1000,10000", "fleet sizes (engines)")
	containers := flag.Int("containers", 30, "containers per engine")
	tasks := flag.Int("tasks", 30000, "tasks of the service the orchestrator converges on each fleet (0: no services measure)")
	jsonOut := flag.String("json", "", "also write the results as JSON here")
	real := flag.Bool("real", false, "also compare the manager with direct engine access on the real test bed (root)")
	profiles := flag.String("profile", "", "run the manager with --pprof and save a 5 s CPU profile of each fleet measure here")
	classic := flag.Bool("classic", true, "run the classic measures (info, lists, create+start, idle) on each fleet; false: services only")
	flag.Parse()
	cfg := fleetConfig{swarm: *swarm, sim: *sim, containers: *containers, tasks: *tasks, profiles: *profiles, classic: *classic}
	go gcfloor.Run(context.Background(), gcfloor.Headroom) // a test tool: take as little of the machine as it can
	var results []result
	for _, s := range strings.Split(*sizes, ",") {
		if strings.TrimSpace(s) == "" { // --sizes "" with --real: only the real-engine comparison
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad --sizes:", err)
			os.Exit(2)
		}
		r := runSize(cfg, n)
		printResult(r)
		results = append(results, r)
	}
	var realStats []stats
	if *real {
		var err error
		if realStats, err = realBed(*swarm); err != nil {
			fmt.Println("real test bed:", err)
		}
		printReal(realStats)
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(map[string]any{"fleet": results, "real": realStats}, "", "  ")
		os.WriteFile(*jsonOut, b, 0o644)
	}
}

func printReal(st []stats) {
	fmt.Printf("\n== real engines: manager vs direct (same engine, same run) ==\n")
	tw := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "measure\tn\tp50 ms\tp99 ms\tper s\terrors\n")
	byName := map[string]stats{}
	for _, m := range st {
		byName[m.Name] = m
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.1f\t%d %s\n", m.Name, m.N, m.P50ms, m.P99ms, m.PerSecond, m.Errors, m.FirstError)
	}
	tw.Flush()
	for _, k := range []string{"inspect", "inspect after a change", "ps -a", "exec round trip"} {
		d, m := byName[k+" (direct)"], byName[k+" (manager)"]
		if d.P50ms > 0 {
			fmt.Printf("%s: manager/direct p50 = %.2fx\n", k, m.P50ms/d.P50ms)
		}
	}
	for _, k := range []string{"logs 64 MiB", "export 128 MiB"} { // bytes of the last answer over the p50 time
		d, m := byName[k+" (direct)"], byName[k+" (manager)"]
		if d.P50ms > 0 && m.P50ms > 0 {
			fmt.Printf("%s throughput: direct %.0f MB/s, manager %.0f MB/s, ratio %.2f\n", strings.Fields(k)[0],
				float64(d.Bytes)/1e3/d.P50ms, float64(m.Bytes)/1e3/m.P50ms, d.P50ms/m.P50ms)
		}
	}
}

// fleetConfig is what every fleet size is measured with.
type fleetConfig struct {
	swarm, sim string // binaries
	containers int    // per engine
	tasks      int    // of the services measure, 0 for none
	profiles   string // directory for CPU profiles, "" for none
	classic    bool   // run the classic measures
}

func runSize(cfg fleetConfig, n int) (r result) {
	swarm, sim, containers, tasks, profiles := cfg.swarm, cfg.sim, cfg.containers, cfg.tasks, cfg.profiles
	r = result{Engines: n, Containers: containers}
	began, stolen := time.Now(), stolenTime()
	defer func() { // on every return, so the figure goes with whatever was measured
		r.StolenPct = float64(stolenTime()-stolen) / float64(time.Since(began)) / float64(runtime.NumCPU()) * 100
	}()
	dir, _ := os.MkdirTemp("", "swarm-bench")
	defer os.RemoveAll(dir)
	fleet, disc, err := startFleet(sim, dir, n, containers)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer fleet.stop()
	addr := freeAddr()
	start := time.Now()
	mgr, err := startManager(swarm, disc, addr, dir+"/manage.log", profiles != "")
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer func() { mgr.Process.Signal(os.Interrupt); mgr.Wait() }()
	if err := waitHealthy(addr, n, 5*time.Minute); err != nil {
		r.Error = err.Error()
		return r
	}
	r.HealthySec = time.Since(start).Seconds()
	base := "http://" + addr
	saveHeap(base, profiles, n)
	get := func(path string) func(int) (int64, error) {
		return func(int) (int64, error) { return call("GET", base+path, "") }
	}
	listN := 20
	if n >= 5000 {
		listN = 8
	}
	measure := func(name string, count, conc int, op func(int) (int64, error)) {
		gcs := gcCount(base)
		st := profiled(base, profiles, n, name, func() stats {
			var st stats
			st, mgrCPU := cpuMeter([]int{mgr.Process.Pid}, func() stats {
				var fleetCPU float64
				st, fleetCPU = cpuMeter(fleet.pids(), func() stats { return sample(name, count, conc, op) })
				st.FleetCPUms = fleetCPU
				return st
			})
			st.ManagerCPUms = mgrCPU
			return st
		})
		if after := gcCount(base); gcs >= 0 && after >= 0 {
			st.ManagerGCs = after - gcs
		} else {
			st.ManagerGCs = -1
		}
		r.Measures = append(r.Measures, st)
	}
	if cfg.classic {
		measure("GET /info", 200, 1, get("/info"))
		measure("GET /containers/json?all=1", listN, 1, get("/containers/json?all=1"))
		measure("GET /containers/json?filters=name", 200, 1, get(`/containers/json?all=1&filters={"name":["sim-7-c3"]}`))
		for _, c := range []struct{ n, conc int }{{200, 1}, {1000, 16}, {2000, 64}} {
			measure(fmt.Sprintf("create+start, concurrency %d", c.conc), c.n, c.conc, createStart(base))
		}
		idle := cpuTime(mgr.Process.Pid) // last, so the engines' periodic refreshes (from 30 s on) are in it
		time.Sleep(10 * time.Second)
		r.IdleCPUPct = float64(cpuTime(mgr.Process.Pid)-idle) / float64(10*time.Second) * 100
	}
	if tasks > 0 {
		sr := measureServices(base, mgr.Process.Pid, fleet.pids(), tasks, func(name string, f func()) {
			profiled(base, profiles, n, "services-"+name, func() stats { f(); return stats{} })
		})
		r.Services = &sr
	}
	r.PeakRSSMiB = peakRSS(mgr.Process.Pid)
	return r
}

// profiled runs f while the manager records a 5 s CPU profile (when dir is set), saved as
// dir/<engines>-<measure>.pprof for `go tool pprof`.
func profiled(base, dir string, engines int, name string, f func() stats) stats {
	if dir == "" {
		return f()
	}
	os.MkdirAll(dir, 0o755)
	slug := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(name))
	done := make(chan struct{})
	go func() {
		defer close(done)
		saveProfile(base+"/debug/pprof/profile?seconds=5", filepath.Join(dir, fmt.Sprintf("%d-%s.pprof", engines, slug)))
	}()
	time.Sleep(100 * time.Millisecond)
	st := f()
	<-done
	return st
}

// saveHeap saves the manager's heap profile, once every engine is healthy, as dir/<engines>-heap.pprof.
func saveHeap(base, dir string, engines int) {
	if dir == "" {
		return
	}
	os.MkdirAll(dir, 0o755)
	saveProfile(base+"/debug/pprof/heap?gc=1", filepath.Join(dir, fmt.Sprintf("%d-heap.pprof", engines)))
}

// saveProfile saves what the manager's pprof endpoint at url answers to path.
func saveProfile(url, path string) {
	resp, err := http.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	os.WriteFile(path, b, 0o644)
}

func createStart(base string) func(int) (int64, error) {
	return func(int) (int64, error) {
		resp, err := postJSON(base+"/containers/create", `{"Image":"busybox","Cmd":["sleep","1d"]}`)
		if err != nil {
			return 0, err
		}
		_, err = call("POST", base+"/containers/"+resp+"/start", "")
		return 0, err
	}
}

func postJSON(url, body string) (string, error) {
	resp, err := httpClient.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		ID      string `json:"Id"`
		Message string `json:"message"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 201 {
		return "", fmt.Errorf("create: %s: %s", resp.Status, out.Message)
	}
	return out.ID, nil
}

func waitHealthy(addr string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	healthy := 0
	for time.Now().Before(deadline) { // the engines gauge of /metrics: cheap, so polling does not slow the start
		resp, err := httpClient.Get("http://" + addr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, `swarm_engines{state="Healthy"} `); ok {
					healthy, _ = strconv.Atoi(v)
				}
			}
			if healthy == n {
				return nil
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("only %d of %d engines healthy after %s", healthy, n, timeout)
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func printResult(r result) {
	fmt.Printf("\n== %d engines x %d containers ==\n", r.Engines, r.Containers)
	if r.Error != "" {
		fmt.Printf("ERROR: %s\n", r.Error)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "all engines Healthy after start\t%.1f s\n", r.HealthySec)
	fmt.Fprintf(tw, "manager peak RSS\t%.0f MiB\n", r.PeakRSSMiB)
	fmt.Fprintf(tw, "manager CPU while idle\t%.0f %% of a core\n", r.IdleCPUPct)
	fmt.Fprintf(tw, "CPU stolen by the host\t%.1f %% of the machine's CPUs\n", r.StolenPct)
	fmt.Fprintf(tw, "measure\tn\tp50 ms\tp99 ms\tper s\tbytes\tmanager CPU ms/op\tfleet CPU ms/op\tmanager GCs\terrors\n")
	for _, m := range r.Measures {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.0f\t%d\t%.2f\t%.2f\t%d\t%d %s\n", m.Name, m.N, m.P50ms, m.P99ms, m.PerSecond, m.Bytes,
			m.ManagerCPUms, m.FleetCPUms, m.ManagerGCs, m.Errors, m.FirstError)
	}
	tw.Flush()
	if r.Services != nil {
		printServices(*r.Services)
	}
}
