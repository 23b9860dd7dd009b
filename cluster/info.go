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
// where an engine changed. The pieces are never changed after they are returned.
func (c *Cluster) InfoJSON(lead [][2]string) ([][]byte, error) {
	info, blocks := c.infos.info(lead)
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
// engine, which /info leaves out.
func (c *infos) engineStatus(e *Engine, info *system.Info) *statusBlock {
	key := statusOf(e)
	if key.state == StateDisconnected {
		return nil
	}
	t := key.tally
	info.Containers += t.running + t.paused + t.stopped
	info.ContainersRunning += t.running
	info.ContainersPaused += t.paused
	info.ContainersStopped += t.stopped
	info.Images += key.images
	pct := int64(c.cfg.Overcommit * 100)
	ncpu := int64(key.ncpu) + int64(key.ncpu)*pct/100
	memTotal := key.memTotal + key.memTotal*pct/100
	info.NCPU += int(ncpu)
	info.MemTotal += memTotal
	return built(e.views, &e.views.status, func(b *statusBlock) bool { return b.key == key }, func() *statusBlock {
		return newStatusBlock(e.Addr(), key, ncpu, memTotal)
	})
}

// statusOf is what an engine's SystemStatus lines show.
func statusOf(e *Engine) statusKey {
	h := e.health.snapshot()
	key := statusKey{state: h.state, lastErr: h.lastErr, updated: e.updatedAt(), images: len(e.Images()),
		tally: e.views.counts()}
	if s := e.conn.spec.Load(); s != nil {
		key.id, key.name, key.version = s.id, s.name, s.version.Version
		key.ncpu, key.memTotal = s.info.NCPU, s.info.MemTotal
	}
	return key
}

// newStatusBlock makes an engine's SystemStatus lines (ncpu and memTotal with the overcommit).
func newStatusBlock(addr string, key statusKey, ncpu, memTotal int64) *statusBlock {
	name := key.name
	if name == "" {
		name = addr
	}
	t := key.tally
	total := t.running + t.paused + t.stopped
	containers := fmt.Sprint(total)
	if key.state == StateHealthy {
		containers = fmt.Sprintf("%d (%d Running, %d Paused, %d Stopped)", total, t.running, t.paused, t.stopped)
	}
	lastErr := key.lastErr
	if lastErr == "" {
		lastErr = "(none)"
	}
	lines := [][2]string{
		{" " + name, addr},
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
	enc, _ := json.Marshal(lines) // strings only: cannot fail
	return &statusBlock{key: key, lines: lines, json: enc[1 : len(enc)-1]}
}

// statusBlock is an engine's SystemStatus lines, kept while what they show (the key) is unchanged; the
// overcommit is fixed for the manager's life.
type statusBlock struct {
	key   statusKey
	lines [][2]string
	json  []byte // the lines encoded, without the enclosing brackets
}

type statusKey struct {
	state                      State
	id, name, lastErr, version string
	updated                    time.Time
	ncpu, images               int
	memTotal                   int64
	tally                      *tally
}

func kernelVersion() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
