package cluster

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/system"
	units "github.com/docker/go-units"

	"swarm/internal/version"
)

// Role is what this manager is in a replicated setup.
type Role struct {
	Primary     bool
	PrimaryAddr string // known primary when this manager is a replica
}

// Info builds the cluster's /info: totals summed over engines and the original's SystemStatus lines, one block
// per engine, which `docker info` prints as "key: value".
func (c *Cluster) Info(role Role) system.Info {
	host, _ := os.Hostname()
	info := system.Info{
		ID: "swarm", Name: host, ServerVersion: "swarm/" + version.Version,
		OperatingSystem: runtime.GOOS, OSType: runtime.GOOS, Architecture: runtime.GOARCH,
		KernelVersion: kernelVersion(), ExperimentalBuild: c.cfg.Experimental, Debug: c.cfg.Debug,
		NEventsListener: c.events.Listeners(), SystemTime: time.Now().Format(time.RFC3339Nano),
		Driver: "", DockerRootDir: "", IndexServerAddress: "https://index.docker.io/v1/",
	}
	status := [][2]string{{"Role", roleName(role)}}
	if !role.Primary && role.PrimaryAddr != "" {
		status = append(status, [2]string{"Primary", role.PrimaryAddr})
	}
	status = append(status, [2]string{"Strategy", c.cfg.Strategy}, [2]string{"Filters", strings.Join(c.cfg.Filters, ", ")})
	engines := c.Engines()
	var nodes [][2]string
	counted := 0
	for _, e := range engines {
		if e.State() == StateDisconnected {
			continue
		}
		counted++
		nodes = append(nodes, c.engineStatus(e, &info)...)
	}
	status = append(status, [2]string{"Nodes", fmt.Sprint(counted)})
	info.SystemStatus = append(status, nodes...)
	return info
}

func roleName(r Role) string {
	if r.Primary {
		return "primary"
	}
	return "replica"
}

// engineStatus adds one engine to the totals and returns its SystemStatus lines.
func (c *Cluster) engineStatus(e *Engine, info *system.Info) [][2]string {
	e.mu.RLock()
	st, id, name := e.state, e.id, e.name
	lastErr, updated, ver := e.lastErr, e.updatedAt, e.version.Version
	einfo := struct {
		NCPU     int
		MemTotal int64
	}{e.info.NCPU, e.info.MemTotal}
	images, t := len(e.images), e.tally
	e.mu.RUnlock()
	if t == nil {
		t = e.countContainers()
	}
	running, paused, stopped, cpus, mem := t.running, t.paused, t.stopped, t.cpus, t.mem
	total := running + paused + stopped
	info.Containers += total
	info.ContainersRunning += running
	info.ContainersPaused += paused
	info.ContainersStopped += stopped
	info.Images += images
	pct := int64(c.cfg.Overcommit * 100)
	ncpu := int64(einfo.NCPU) + int64(einfo.NCPU)*pct/100
	memTotal := einfo.MemTotal + einfo.MemTotal*pct/100
	info.NCPU += int(ncpu)
	info.MemTotal += memTotal
	if name == "" {
		name = e.addr
	}
	containers := fmt.Sprint(total)
	if st == StateHealthy {
		containers = fmt.Sprintf("%d (%d Running, %d Paused, %d Stopped)", total, running, paused, stopped)
	}
	out := [][2]string{
		{" " + name, e.addr},
		{"  └ ID", id},
		{"  └ Status", st.String()},
		{"  └ Containers", containers},
		{"  └ Reserved CPUs", fmt.Sprintf("%d / %d", cpus, ncpu)},
		{"  └ Reserved Memory", fmt.Sprintf("%s / %s", units.BytesSize(float64(mem)), units.BytesSize(float64(memTotal)))},
		{"  └ Labels", t.labels},
	}
	if lastErr != "" {
		out = append(out, [2]string{"  └ Error", lastErr})
	} else {
		out = append(out, [2]string{"  └ Error", "(none)"})
	}
	return append(out, [2]string{"  └ UpdatedAt", updated.UTC().Format(time.RFC3339)}, [2]string{"  └ ServerVersion", ver})
}

// tally is what /info sums over an engine's containers, kept until the engine's state changes.
type tally struct {
	running, paused, stopped int
	cpus, mem                int64
	labels                   string // "k=v, ..." sorted
}

func (e *Engine) countContainers() *tally {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tally != nil {
		return e.tally
	}
	t := &tally{}
	labels := make([]string, 0, len(e.labels))
	for k, v := range e.labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	t.labels = strings.Join(labels, ", ")
	for _, ct := range e.containers {
		switch ct.State {
		case "running", "restarting":
			t.running++
		case "paused":
			t.paused++
		default:
			t.stopped++
		}
		if ct.Info != nil && ct.Info.HostConfig != nil {
			t.cpus += sharesToCPUs(ct.Info.HostConfig.CPUShares, int64(e.info.NCPU))
			t.mem += ct.Info.HostConfig.Memory
		}
	}
	e.tally = t
	return t
}

func kernelVersion() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
