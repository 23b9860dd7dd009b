package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// serviceRun is one convergence of swarm mode's orchestrator on the fleet: a service of Tasks replicas created
// through /services/create until its status says every task runs, then scaled to 0 until none is left.
type serviceRun struct {
	Name         string  `json:"name"` // cold (first service on the fleet) or warm (the next one)
	Tasks        int     `json:"tasks"`
	ConvergeSec  float64 `json:"create_to_all_running_seconds"`
	TasksPerSec  float64 `json:"tasks_per_second"`
	ScaleZeroSec float64 `json:"scale_to_zero_seconds"`
	ManagerCPUs  float64 `json:"manager_cpu_seconds"` // over create, converge and scale-down
	// CPU over create→all running alone, of the manager and of the simulated fleet: with the machine's cores
	// they bound what the two together can converge at.
	ConvergeManagerCPUs float64 `json:"converge_manager_cpu_seconds"`
	ConvergeFleetCPUs   float64 `json:"converge_fleet_cpu_seconds"`
	Error               string  `json:"error,omitempty"`
}

// serviceResult is what the services measures found on one fleet size.
type serviceResult struct {
	Runs []serviceRun `json:"runs"`
	// IdleCPUPct is the manager's CPU, in % of one core, over 10 s with IdleServices services (of 2 tasks each)
	// converged and nothing asked.
	IdleServices int     `json:"idle_services"`
	IdleCPUPct   float64 `json:"idle_cpu_percent"`
	Error        string  `json:"error,omitempty"`
}

// measureServices runs a cold and a warm service of tasks replicas, then the idle measure; each convergence
// and the idle measure run inside profile (which may record the manager's CPU profile meanwhile).
func measureServices(base string, pid int, fleet []int, tasks int, profile func(name string, f func())) serviceResult {
	var r serviceResult
	for _, name := range []string{"cold", "warm"} {
		var run serviceRun
		profile(name, func() { run = convergeService(base, pid, fleet, name, tasks) })
		r.Runs = append(r.Runs, run)
		if run.Error != "" {
			r.Error = run.Error
			return r
		}
	}
	r.IdleServices = 100
	var ids []string
	for i := 0; i < r.IdleServices; i++ {
		id, err := createService(base, fmt.Sprintf("idle-%d", i), 2)
		if err != nil {
			r.Error = err.Error()
			return r
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		if err := waitServiceRunning(base, id, 2, 5*time.Minute); err != nil {
			r.Error = err.Error()
			return r
		}
	}
	profile("idle", func() {
		before := cpuTime(pid)
		time.Sleep(10 * time.Second)
		r.IdleCPUPct = float64(cpuTime(pid)-before) / float64(10*time.Second) * 100
	})
	for _, id := range ids {
		call("DELETE", base+"/services/"+id, "")
	}
	return r
}

func convergeService(base string, pid int, fleet []int, name string, tasks int) serviceRun {
	run := serviceRun{Name: name, Tasks: tasks}
	cpu, fleetCPU := cpuTime(pid), cpuTimes(fleet)
	start := time.Now()
	id, err := createService(base, "bench-"+name, tasks)
	if err == nil {
		err = waitServiceRunning(base, id, tasks, 10*time.Minute)
	}
	if err != nil {
		run.Error = err.Error()
		return run
	}
	run.ConvergeSec = time.Since(start).Seconds()
	run.TasksPerSec = float64(tasks) / run.ConvergeSec
	run.ConvergeManagerCPUs = (cpuTime(pid) - cpu).Seconds()
	run.ConvergeFleetCPUs = (cpuTimes(fleet) - fleetCPU).Seconds()
	start = time.Now()
	if err := scaleService(base, id, 0); err != nil {
		run.Error = err.Error()
		return run
	}
	if err := waitNoTasks(base, id, 10*time.Minute); err != nil {
		run.Error = err.Error()
		return run
	}
	run.ScaleZeroSec = time.Since(start).Seconds()
	run.ManagerCPUs = float64(cpuTime(pid)-cpu) / float64(time.Second)
	call("DELETE", base+"/services/"+id, "")
	return run
}

func createService(base, name string, replicas int) (string, error) {
	spec := fmt.Sprintf(`{"Name":%q,"TaskTemplate":{"ContainerSpec":{"Image":"busybox","Args":["sleep","1d"]}},`+
		`"Mode":{"Replicated":{"Replicas":%d}}}`, name, replicas)
	resp, err := httpClient.Post(base+"/services/create", "application/json", strings.NewReader(spec))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		ID      string
		Message string `json:"message"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("service create: %s: %s", resp.Status, out.Message)
	}
	return out.ID, nil
}

// serviceState reads a service's version, spec and status.
func serviceState(base, id string) (map[string]any, int, error) {
	resp, err := httpClient.Get(base + "/services/" + id + "?status=true")
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	var s map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return nil, 0, err
	}
	running := 0
	if st, ok := s["ServiceStatus"].(map[string]any); ok {
		n, _ := st["RunningTasks"].(float64)
		running = int(n)
	}
	return s, running, nil
}

func waitServiceRunning(base, id string, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, running, err := serviceState(base, id)
		if err == nil && running == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("service %s: %d of %d tasks running after %s (%v)", id, running, want, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func scaleService(base, id string, replicas int) error {
	s, _, err := serviceState(base, id)
	if err != nil {
		return err
	}
	spec := s["Spec"].(map[string]any)
	spec["Mode"] = map[string]any{"Replicated": map[string]any{"Replicas": replicas}}
	version := s["Version"].(map[string]any)["Index"].(float64)
	body, _ := json.Marshal(spec)
	_, err = call("POST", fmt.Sprintf("%s/services/%s/update?version=%d", base, id, int64(version)), string(body))
	return err
}

// waitNoTasks waits until the service has no task left (every container removed).
func waitNoTasks(base, id string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	url := base + `/tasks?filters={"service":{"` + id + `":true}}`
	for {
		resp, err := httpClient.Get(url)
		if err == nil {
			var ts []json.RawMessage
			json.NewDecoder(resp.Body).Decode(&ts)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if len(ts) == 0 {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("service %s: %d tasks left after %s", id, len(ts), timeout)
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func printServices(r serviceResult) {
	fmt.Printf("services (swarm mode's orchestrator):\n")
	if r.Error != "" {
		fmt.Printf("ERROR: %s\n", r.Error)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "run\ttasks\tcreate→all running s\ttasks/s\tscale to 0 s\tmanager CPU s\tconverging: manager / fleet CPU s\n")
	for _, run := range r.Runs {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.0f\t%.1f\t%.1f\t%.1f / %.1f\n", run.Name, run.Tasks, run.ConvergeSec, run.TasksPerSec,
			run.ScaleZeroSec, run.ManagerCPUs, run.ConvergeManagerCPUs, run.ConvergeFleetCPUs)
	}
	tw.Flush()
	fmt.Printf("manager CPU idle with %d services: %.1f %% of a core\n", r.IdleServices, r.IdleCPUPct)
}
