package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// engineShard is how many simulated engines one swarm-sim process serves: each engine costs it a listener, an
// event stream and a pooled connection, and a process may hold at most 20,000 descriptors here.
const engineShard = 4000

type procs []*exec.Cmd

func (p procs) stop() {
	for _, c := range p {
		if c.Process != nil {
			c.Process.Signal(os.Interrupt)
			c.Wait()
		}
	}
}

func (p procs) pids() []int {
	var out []int
	for _, c := range p {
		if c.Process != nil {
			out = append(out, c.Process.Pid)
		}
	}
	return out
}

// startFleet runs enough swarm-sim processes for n engines and writes the file:// discovery file.
func startFleet(sim, dir string, n, containers int) (procs, string, error) {
	var ps procs
	var all []string
	for first := 0; first < n; first += engineShard {
		count := min(engineShard, n-first)
		file := filepath.Join(dir, fmt.Sprintf("shard-%d", first))
		cmd := exec.Command(sim, "--first", strconv.Itoa(first), "--count", strconv.Itoa(count),
			"--containers", strconv.Itoa(containers), "--file", file)
		out, err := cmd.StdoutPipe()
		if err != nil {
			ps.stop()
			return nil, "", err
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			ps.stop()
			return nil, "", err
		}
		ps = append(ps, cmd)
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "ready") {
			ps.stop()
			return nil, "", fmt.Errorf("swarm-sim shard %d did not start: %q %v", first, line, err)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			ps.stop()
			return nil, "", err
		}
		all = append(all, strings.Fields(string(b))...)
	}
	disc := filepath.Join(dir, "engines")
	if err := os.WriteFile(disc, []byte(strings.Join(all, "\n")+"\n"), 0o644); err != nil {
		ps.stop()
		return nil, "", err
	}
	return ps, disc, nil
}

// startManager runs swarm manage on file discovery (with --pprof when asked) and returns its process and API address.
func startManager(swarm, disc, addr, logPath string, pprof bool) (*exec.Cmd, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := []string{"manage", "-H", "tcp://" + addr, "--heartbeat", "5s"}
	if pprof {
		args = append(args, "--pprof")
	}
	cmd := exec.Command(swarm, append(args, "file://"+disc)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := call("GET", "http://"+addr+"/_ping", ""); err == nil {
			return cmd, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Kill()
	return nil, fmt.Errorf("manager did not start; see %s", logPath)
}

// peakRSS reads a process's peak resident memory in MiB.
func peakRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
