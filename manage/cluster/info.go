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
	lastErr, updated, ver, einfo := e.lastErr, e.updatedAt, e.version.Version, e.info
	labels := make([]string, 0, len(e.labels))
	for k, v := range e.labels {
		labels = append(labels, k+"="+v)
	}
	var running, paused, stopped int
	var cpus, mem int64
	for _, ct := range e.containers {
		switch ct.State {
		case "running", "restarting":
			running++
		case "paused":
			paused++
		default:
			stopped++
		}
		if ct.Info != nil && ct.Info.HostConfig != nil {
			cpus += sharesToCPUs(ct.Info.HostConfig.CPUShares, int64(einfo.NCPU))
			mem += ct.Info.HostConfig.Memory
		}
	}
	images := len(e.images)
	e.mu.RUnlock()
	sort.Strings(labels)
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
		{"  └ Labels", strings.Join(labels, ", ")},
	}
	if lastErr != "" {
		out = append(out, [2]string{"  └ Error", lastErr})
	} else {
		out = append(out, [2]string{"  └ Error", "(none)"})
	}
	return append(out, [2]string{"  └ UpdatedAt", updated.UTC().Format(time.RFC3339)}, [2]string{"  └ ServerVersion", ver})
}

func kernelVersion() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
