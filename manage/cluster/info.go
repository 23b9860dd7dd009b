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

// statusLines is how many SystemStatus lines an engine has.
const statusLines = 10

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
	nodes := make([][2]string, 0, len(engines)*statusLines)
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
	key := statusKey{state: e.state, id: e.id, name: e.name, lastErr: e.lastErr, updated: e.updatedAt,
		version: e.version.Version, ncpu: e.info.NCPU, memTotal: e.info.MemTotal, images: len(e.images), tally: e.tally}
	cached := e.status
	e.mu.RUnlock()
	if key.tally == nil {
		key.tally = e.countContainers()
	}
	t := key.tally
	total := t.running + t.paused + t.stopped
	info.Containers += total
	info.ContainersRunning += t.running
	info.ContainersPaused += t.paused
	info.ContainersStopped += t.stopped
	info.Images += key.images
	pct := int64(c.cfg.Overcommit * 100)
	ncpu := int64(key.ncpu) + int64(key.ncpu)*pct/100
	memTotal := key.memTotal + key.memTotal*pct/100
	info.NCPU += int(ncpu)
	info.MemTotal += memTotal
	if cached != nil && cached.key == key {
		return cached.lines
	}
	name := key.name
	if name == "" {
		name = e.addr
	}
	containers := fmt.Sprint(total)
	if key.state == StateHealthy {
		containers = fmt.Sprintf("%d (%d Running, %d Paused, %d Stopped)", total, t.running, t.paused, t.stopped)
	}
	lastErr := key.lastErr
	if lastErr == "" {
		lastErr = "(none)"
	}
	lines := [][2]string{
		{" " + name, e.addr},
		{"  └ ID", key.id},
		{"  └ Status", key.state.String()},
		{"  └ Containers", containers},
		{"  └ Reserved CPUs", fmt.Sprintf("%d / %d", t.cpus, ncpu)},
		{"  └ Reserved Memory", fmt.Sprintf("%s / %s", units.BytesSize(float64(t.mem)), units.BytesSize(float64(memTotal)))},
		{"  └ Labels", t.labels},
		{"  └ Error", lastErr},
		{"  └ UpdatedAt", key.updated.UTC().Format(time.RFC3339)},
		{"  └ ServerVersion", key.version},
	}
	e.mu.Lock()
	e.status = &statusBlock{key: key, lines: lines}
	e.mu.Unlock()
	return lines
}

// statusBlock is an engine's SystemStatus lines, kept while what they show (the key) is unchanged; the
// overcommit is fixed for the manager's life.
type statusBlock struct {
	key   statusKey
	lines [][2]string
}

type statusKey struct {
	state                      State
	id, name, lastErr, version string
	updated                    time.Time
	ncpu, images               int
	memTotal                   int64
	tally                      *tally
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
