package cluster

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
	units "github.com/docker/go-units"

	"swarm/internal/version"
)

// Info builds the cluster's /info: totals summed over engines and the original's SystemStatus lines (lead
// first: the manager's role), one block per engine, which `docker info` prints as "key: value".
func (c *Cluster) Info(lead [][2]string) system.Info {
	info, blocks := c.infos.info(lead)
	for _, b := range blocks {
		info.SystemStatus = append(info.SystemStatus, b.lines...)
	}
	return info
}

// InfoJSON is Info as the API answers it, in pieces to be written in order: the engines' blocks are kept
// encoded, in runs of infoRun engines, so an answer for thousands of engines re-encodes and copies only the runs
// where an engine changed. The pieces are never changed after they are returned. sw, when not nil, is the
// Swarm section (swarm mode's identity of this manager); without it the engines' own is kept.
func (c *Cluster) InfoJSON(lead [][2]string, sw *swarm.Info) ([][]byte, error) {
	info, blocks := c.infos.info(lead)
	if sw != nil {
		info.Swarm = *sw
	}
	head, err := json.Marshal(info.SystemStatus)
	if err != nil {
		return nil, err
	}
	info.SystemStatus = nil // omitted, then spliced in
	out, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	first := make([]byte, 0, len(out)+len(head)+16)
	first = append(first, out[:len(out)-1]...)
	first = append(first, `,"SystemStatus":`...)
	first = append(first, head[:len(head)-1]...)
	pieces := append([][]byte{first}, c.infos.runs.encoded(blocks)...)
	return append(pieces, []byte("]}\n")), nil
}

// infoRun is how many engines' blocks are encoded together in /info's answer: large enough that writing the
// answer takes few writes, small enough that re-encoding the runs a refresh changed stays cheap.
const infoRun = 256

// infoRuns keeps /info's engine blocks encoded in runs of infoRun, each kept while its blocks are the same.
type infoRuns struct {
	mu   sync.Mutex
	runs []*infoRunJSON
}

type infoRunJSON struct {
	blocks []*statusBlock
	json   []byte // each block's lines preceded by a comma
}

// encoded returns the blocks encoded, one piece per run, re-encoding the runs whose blocks changed.
func (r *infoRuns) encoded(blocks []*statusBlock) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := (len(blocks) + infoRun - 1) / infoRun
	if len(r.runs) != n {
		r.runs = make([]*infoRunJSON, n)
	}
	pieces := make([][]byte, n)
	for i := range n {
		part := blocks[i*infoRun : min(len(blocks), (i+1)*infoRun)]
		run := r.runs[i]
		if run == nil || !slices.Equal(run.blocks, part) {
			run = encodeRun(part)
			r.runs[i] = run
		}
		pieces[i] = run.json
	}
	return pieces
}

func encodeRun(blocks []*statusBlock) *infoRunJSON {
	size := 0
	for _, b := range blocks {
		size += len(b.json) + 1
	}
	out := make([]byte, 0, size)
	for _, b := range blocks {
		out = append(out, ',')
		out = append(out, b.json...)
	}
	return &infoRunJSON{blocks: slices.Clone(blocks), json: out}
}

// infos build /info: the cluster's totals and lines, and each engine's block (its lines are kept by the engine's
// views; runs keeps their encoding).
type infos struct {
	cfg       Options
	pool      *pool
	listeners func() int // the event stream's subscribers
	runs      infoRuns
}

// info is /info without the engines' lines: the totals and the cluster's own lines, and each engine's block.
func (c *infos) info(lead [][2]string) (system.Info, []*statusBlock) {
	host, _ := os.Hostname()
	info := system.Info{
		ID: "swarm", Name: host, ServerVersion: "swarm/" + version.Version,
		OperatingSystem: runtime.GOOS, OSType: runtime.GOOS, Architecture: runtime.GOARCH,
		KernelVersion: kernelVersion(), ExperimentalBuild: c.cfg.Experimental, Debug: c.cfg.Debug,
		NEventsListener: c.listeners(), SystemTime: time.Now().Format(time.RFC3339Nano),
		Driver: "", DockerRootDir: "", IndexServerAddress: "https://index.docker.io/v1/",
	}
	status := append(slices.Clone(lead), [2]string{"Strategy", c.cfg.Strategy}, [2]string{"Filters", strings.Join(c.cfg.Filters, ", ")})
	engines := c.pool.all()
	blocks := make([]*statusBlock, 0, len(engines))
	for _, e := range engines {
		if b := c.engineStatus(e, &info); b != nil {
			blocks = append(blocks, b)
		}
	}
	info.SystemStatus = append(status, [2]string{"Nodes", fmt.Sprint(len(blocks))})
	return info, blocks
}

// engineStatus adds one engine to the totals and returns its SystemStatus lines; nil for a disconnected
// engine, which /info leaves out. The block is kept while the engine's parts and its UpdatedAt stay as they were.
func (c *infos) engineStatus(e *Engine, info *system.Info) *statusBlock {
	at, updated := e.views.stamp(), e.updated.Load()
	b := e.views.status.Load()
	if b == nil || b.at != at || b.updated != updated {
		t := e.views.counts() // before the status is built: both are built under the views' lock
		b = built(e.views, &e.views.status, func(b *statusBlock) bool { return b.at == at && b.updated == updated },
			func() *statusBlock { return c.newStatusBlock(e, at, updated, t) })
	}
	if b.state == StateDisconnected {
		return nil
	}
	info.Containers += b.running + b.paused + b.stopped
	info.ContainersRunning += b.running
	info.ContainersPaused += b.paused
	info.ContainersStopped += b.stopped
	info.Images += b.images
	info.NCPU += int(b.ncpu)
	info.MemTotal += b.memTotal
	return b
}

// statusBlock is an engine's SystemStatus lines and what it adds to /info's totals, as of a stamp of its parts
// and its UpdatedAt; the overcommit is fixed for the manager's life.
type statusBlock struct {
	at                       stamp
	updated                  int64
	state                    State
	running, paused, stopped int
	images                   int
	ncpu, memTotal           int64 // with the overcommit
	lines                    [][2]string
	json                     []byte // the lines encoded, without the enclosing brackets
}

// newStatusBlock makes an engine's SystemStatus lines from its parts (t: its tally).
func (c *infos) newStatusBlock(e *Engine, at stamp, updated int64, t *tally) *statusBlock {
	h := e.health.snapshot()
	b := &statusBlock{at: at, updated: updated, state: h.state, running: t.running, paused: t.paused,
		stopped: t.stopped, images: len(e.Images())}
	name, id, version := e.Addr(), "", ""
	if s := at.spec; s != nil {
		pct := int64(c.cfg.Overcommit * 100)
		b.ncpu = int64(s.info.NCPU) + int64(s.info.NCPU)*pct/100
		b.memTotal = s.info.MemTotal + s.info.MemTotal*pct/100
		id, version = s.id, s.version.Version
		if s.name != "" {
			name = s.name
		}
	}
	total := t.running + t.paused + t.stopped
	containers := fmt.Sprint(total)
	if h.state == StateHealthy {
		containers = fmt.Sprintf("%d (%d Running, %d Paused, %d Stopped)", total, t.running, t.paused, t.stopped)
	}
	lastErr := h.lastErr
	if lastErr == "" {
		lastErr = "(none)"
	}
	b.lines = [][2]string{
		{" " + name, e.Addr()},
		{"  └ ID", id},
		{"  └ Status", h.state.String()},
		{"  └ Containers", containers},
		{"  └ Reserved CPUs", fmt.Sprintf("%d / %d", t.cpus, b.ncpu)},
		{"  └ Reserved Memory", fmt.Sprintf("%s / %s", units.BytesSize(float64(t.mem)), units.BytesSize(float64(b.memTotal)))},
		{"  └ Labels", t.labels},
		{"  └ Error", lastErr},
		{"  └ UpdatedAt", unixNanoTime(updated).UTC().Format(time.RFC3339)},
		{"  └ ServerVersion", version},
	}
	enc, _ := json.Marshal(b.lines) // strings only: cannot fail
	b.json = enc[1 : len(enc)-1]
	return b
}

func kernelVersion() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
