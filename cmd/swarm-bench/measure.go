package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// stats summarises one measured operation.
type stats struct {
	Name      string  `json:"name"`
	N         int     `json:"n"`
	P50ms     float64 `json:"p50_ms"`
	P99ms     float64 `json:"p99_ms"`
	PerSecond float64 `json:"per_second,omitempty"`
	Bytes     int64   `json:"bytes,omitempty"`
	Errors    int     `json:"errors"`
	// CPU time per operation of the manager and of the simulated fleet (this driver uses the rest of the
	// machine): what the manager costs, apart from what shares the machine with it.
	ManagerCPUms float64 `json:"manager_cpu_ms_per_op,omitempty"`
	FleetCPUms   float64 `json:"fleet_cpu_ms_per_op,omitempty"`
	// Garbage collections of the manager that ended during the measure: one at 10,000 engines costs seconds of
	// CPU, so whether one falls in a measure of a few seconds moves its figures more than most changes do.
	ManagerGCs int    `json:"manager_gcs"`
	FirstError string `json:"first_error,omitempty"`
}

// sample runs op n times with the given concurrency and summarises the latencies.
func sample(name string, n, concurrency int, op func(i int) (int64, error)) stats {
	return sampleAfter(name, n, concurrency, nil, op)
}

// sampleAfter is sample with prep run, untimed, before each op (nil: nothing); its failures count as the op's.
func sampleAfter(name string, n, concurrency int, prep func() error, op func(i int) (int64, error)) stats {
	lat := make([]time.Duration, n)
	var mu sync.Mutex
	st := stats{Name: name, N: n}
	next := 0
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				var err error
				if prep != nil {
					err = prep()
				}
				t := time.Now()
				var b int64
				if err == nil {
					b, err = op(i)
				}
				d := time.Since(t)
				mu.Lock()
				lat[i], st.Bytes = d, b
				if err != nil {
					if st.Errors == 0 {
						st.FirstError = err.Error()
					}
					st.Errors++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	st.P50ms = ms(lat[n*50/100])
	st.P99ms = ms(lat[min(n-1, n*99/100)])
	st.PerSecond = float64(n) / wall.Seconds()
	return st
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}, Timeout: 2 * time.Minute}

// call performs one request and returns the body size.
func call(method, url, body string) (int64, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if resp.StatusCode >= 300 {
		return n, fmt.Errorf("%s %s: %s", method, url, resp.Status)
	}
	return n, err
}

// cpuTime is the CPU time (user + system) a process has used so far; 0 when it cannot be read.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // the command name may hold spaces
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// stolenTime is the CPU time the hypervisor gave to others while this machine wanted it, summed over its CPUs
// (the steal column of /proc/stat); 0 where it is not reported.
func stolenTime() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	steal, _ := strconv.ParseInt(f[8], 10, 64)
	return time.Duration(steal) * time.Second / clockTicks
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat times (100 on every Linux port Go runs on).
const clockTicks = 100

// cpuMeter charges the CPU time a set of processes used during f to each operation f performed.
func cpuMeter(pids []int, f func() stats) (stats, float64) {
	before := cpuTimes(pids)
	st := f()
	return st, ms(cpuTimes(pids)-before) / float64(st.N)
}

// cpuTimes is the CPU time a set of processes used so far.
func cpuTimes(pids []int) time.Duration {
	total := time.Duration(0)
	for _, p := range pids {
		total += cpuTime(p)
	}
	return total
}

// gcCount is how many garbage collections the manager at base has completed (its /metrics), -1 if unknown.
func gcCount(base string) int {
	resp, err := httpClient.Get(base + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "go_gc_duration_seconds_count "); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return n
			}
		}
	}
	return -1
}
