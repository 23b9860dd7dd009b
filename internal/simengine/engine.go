// Package simengine is a simulated Docker engine for tests and benchmarks: an in-memory implementation of the
// part of the Engine API the manager uses (ping, version, info, containers, images, networks, volumes, events),
// served over HTTP, with optional per-request latency. It is a test tool: nothing runs.
package simengine

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
)

// Options shape one simulated engine.
type Options struct {
	Name          string        // hostname, e.g. "sim-0"
	ID            string        // engine ID; random when empty
	NCPU          int           // default 4
	MemTotal      int64         // default 8 GiB
	Labels        []string      // daemon labels, k=v
	APIVersion    string        // default "1.41"
	Latency       time.Duration // added to every request
	Containers    int           // pre-created running containers
	ServerVersion string        // default "20.10.24-sim"
}

// Engine is one simulated engine. It is safe for concurrent use.
type Engine struct {
	opts Options

	mu         sync.RWMutex
	containers map[string]*simContainer
	order      []string // creation order
	images     []image.Summary
	subs       map[chan events.Message]struct{}
	mux        *http.ServeMux
	clock      int64
	inspects   atomic.Int64 // container inspects served
	listed     []byte       // the encoded list of every container; nil after a change
	archives   map[string][][]byte
	changes    []string // requests other than GETs, "METHOD /path"
}

type simContainer struct {
	summary container.Summary
	inspect container.InspectResponse
	encoded []byte // inspect, encoded on first use (guarded by the engine's lock)
}

// New builds an engine with opts.Containers running busybox containers.
func New(opts Options) *Engine {
	if opts.ID == "" {
		opts.ID = strings.ToUpper(randomHex(16))
	}
	if opts.NCPU == 0 {
		opts.NCPU = 4
	}
	if opts.MemTotal == 0 {
		opts.MemTotal = 8 << 30
	}
	if opts.APIVersion == "" {
		opts.APIVersion = "1.41"
	}
	if opts.ServerVersion == "" {
		opts.ServerVersion = "20.10.24-sim"
	}
	e := &Engine{opts: opts, containers: map[string]*simContainer{}, subs: map[chan events.Message]struct{}{},
		clock: time.Now().Unix()}
	e.images = []image.Summary{{ID: "sha256:" + randomHex(32), RepoTags: []string{"busybox:latest"}, Created: e.clock,
		Size: 2 << 20, Containers: -1}}
	// The pre-created containers share one config (never changed after create): on a large fleet the fleet's
	// heap, and the garbage collections that share the machine with the manager, stay small.
	cfg, hc := &container.Config{Image: "busybox", Cmd: []string{"sleep", "1d"}}, &container.HostConfig{}
	for i := 0; i < opts.Containers; i++ {
		id := e.create(fmt.Sprintf("%s-c%d", opts.Name, i), cfg, hc)
		e.setState(id, "running")
		c := e.containers[id] // its inspect encoded now: a manager reading the fleet at start is answered at once
		c.encoded, _ = json.Marshal(c.inspect)
	}
	e.routes()
	return e
}

// Name is the engine's hostname.
func (e *Engine) Name() string { return e.opts.Name }

// ServeHTTP serves the Engine API, with or without a /vX.Y prefix.
func (e *Engine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e.opts.Latency > 0 {
		time.Sleep(e.opts.Latency)
	}
	if strings.HasPrefix(r.URL.Path, "/v1.") {
		if i := strings.Index(r.URL.Path[1:], "/"); i > 0 {
			r.URL.Path = r.URL.Path[i+1:]
		}
	}
	w.Header().Set("Api-Version", e.opts.APIVersion)
	if r.Method != http.MethodGet {
		e.mu.Lock()
		e.changes = append(e.changes, r.Method+" "+r.URL.Path)
		e.mu.Unlock()
	}
	e.mux.ServeHTTP(w, r)
}

// Changes are the requests other than GETs the engine was sent, in order: "METHOD /path" (unversioned).
func (e *Engine) Changes() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return append([]string(nil), e.changes...)
}

// Inspects is the number of container inspects the engine has answered.
func (e *Engine) Inspects() int64 { return e.inspects.Load() }

// ContainerCount is the number of containers the engine holds.
func (e *Engine) ContainerCount() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.containers)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

// Create makes a running container named name from image, as `docker run -d` would (with its create event).
func (e *Engine) Create(name, image string, labels map[string]string) string {
	id := e.create(name, &container.Config{Image: image, Labels: labels}, &container.HostConfig{})
	e.setState(id, "running")
	return id
}

// SetState changes a container's state without an event: a change the engine does not report.
func (e *Engine) SetState(id, state string) { e.setState(id, state) }

// Exit ends a running container with an exit code, as its process exiting would (with the die event).
func (e *Engine) Exit(id string, code int) {
	e.setState(id, "exited")
	e.changeState(id, "die", func(st *container.State, c *simContainer) {
		st.ExitCode = code
		c.summary.Status = fmt.Sprintf("Exited (%d) 1 second ago", code)
	})
}

// SetHealth gives a running container's health check a status (starting, healthy, unhealthy), as its list and
// inspect show it, with the health_status event.
func (e *Engine) SetHealth(id, status string) {
	shown := status
	if status == "starting" {
		shown = "health: starting"
	}
	e.changeState(id, "health_status: "+status, func(st *container.State, c *simContainer) {
		st.Health = &container.Health{Status: status}
		c.summary.Status = "Up 1 second (" + shown + ")"
	})
}

// changeState changes a container's state (a copy: earlier readers keep theirs) and emits the event action.
func (e *Engine) changeState(id, action string, change func(*container.State, *simContainer)) {
	e.mu.Lock()
	c := e.containers[id]
	if c == nil {
		e.mu.Unlock()
		return
	}
	nc := *c
	nc.encoded = nil
	st := *c.inspect.State
	base := *c.inspect.ContainerJSONBase
	change(&st, &nc)
	base.State = &st
	nc.inspect.ContainerJSONBase = &base
	e.containers[id] = &nc
	e.listed = nil
	e.mu.Unlock()
	e.emit("container", action, id, strings.TrimPrefix(c.summary.Names[0], "/"), c.summary.Image, c.summary.Labels)
}

// Archive returns the tar archives extracted into a container (PUT /containers/{id}/archive), in order.
func (e *Engine) Archive(id string) [][]byte {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.archives[id]
}

// Summaries lists the engine's containers as its list would, in creation order.
func (e *Engine) Summaries() []container.Summary {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]container.Summary, 0, len(e.order))
	for _, id := range e.order {
		if c := e.containers[id]; c != nil {
			out = append(out, c.summary)
		}
	}
	return out
}
