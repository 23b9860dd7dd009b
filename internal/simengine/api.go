package simengine

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/volume"
)

func (e *Engine) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /_ping", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("OK")) })
	m.HandleFunc("HEAD /_ping", func(w http.ResponseWriter, r *http.Request) {})
	m.HandleFunc("GET /version", e.version)
	m.HandleFunc("GET /info", e.info)
	m.HandleFunc("GET /events", e.events)
	m.HandleFunc("GET /containers/json", e.list)
	m.HandleFunc("POST /containers/create", e.createHandler)
	m.HandleFunc("GET /containers/{id}/json", e.inspect)
	m.HandleFunc("POST /containers/{id}/{action}", e.action)
	m.HandleFunc("DELETE /containers/{id}", e.remove)
	m.HandleFunc("PUT /containers/{id}/archive", e.extract)
	// Answers that never change are encoded once: the manager's periodic refresh asks for them on every
	// engine, and the fleet shares the machine with the manager it measures.
	m.HandleFunc("GET /images/json", fixed(e.images))
	m.HandleFunc("GET /networks", fixed([]network.Inspect{{Name: "bridge", ID: "bridge-" + e.opts.ID, Driver: "bridge", Scope: "local"}}))
	m.HandleFunc("POST /networks/{id}/connect", e.connect)
	m.HandleFunc("POST /networks/create", func(w http.ResponseWriter, r *http.Request) { // taken, not kept
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"Id":"net-` + e.opts.ID + `"}`))
	})
	m.HandleFunc("GET /volumes", fixed(volume.ListResponse{Volumes: []*volume.Volume{}}))
	e.mux = m
}

// connect takes any network for a container it has (networks are not simulated).
func (e *Engine) connect(w http.ResponseWriter, r *http.Request) {
	var req network.ConnectOptions
	bad := json.NewDecoder(r.Body).Decode(&req) != nil
	e.mu.RLock()
	known := !bad && e.lookup(req.Container) != nil
	e.mu.RUnlock()
	if !known {
		http.Error(w, `{"message":"No such container"}`, http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// fixed serves v, encoded once.
func fixed(v any) http.HandlerFunc {
	b, _ := json.Marshal(v)
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}
}

func (e *Engine) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, types.Version{Version: e.opts.ServerVersion, APIVersion: e.opts.APIVersion, MinAPIVersion: "1.12",
		Os: "linux", Arch: "amd64"})
}

func (e *Engine) info(w http.ResponseWriter, r *http.Request) {
	e.mu.RLock()
	n := len(e.containers)
	e.mu.RUnlock()
	writeJSON(w, 200, system.Info{ID: e.opts.ID, Name: e.opts.Name, NCPU: e.opts.NCPU, MemTotal: e.opts.MemTotal,
		Labels: e.opts.Labels, Containers: n, Driver: "overlay2", KernelVersion: "6.0-sim", OperatingSystem: "SimOS",
		OSType: "linux", Architecture: "x86_64", ServerVersion: e.opts.ServerVersion})
}

func (e *Engine) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	all := q.Get("all") == "1" || q.Get("all") == "true"
	if all && q.Get("filters") == "" { // the manager's refresh: kept encoded until a container changes
		w.Header().Set("Content-Type", "application/json")
		w.Write(e.listAll())
		return
	}
	f, _ := filters.FromJSON(q.Get("filters"))
	e.mu.RLock()
	out := make([]container.Summary, 0, len(e.containers))
	for i := len(e.order) - 1; i >= 0; i-- {
		c := e.containers[e.order[i]]
		if c == nil || (!all && c.summary.State != "running") || (f.Contains("id") && !f.ExactMatch("id", c.summary.ID)) ||
			!f.MatchKVList("label", c.summary.Labels) {
			continue
		}
		out = append(out, c.summary)
	}
	e.mu.RUnlock()
	writeJSON(w, 200, out)
}

// listAll is the answer to a list of every container, newest first.
func (e *Engine) listAll() []byte {
	e.mu.RLock()
	b := e.listed
	e.mu.RUnlock()
	if b != nil {
		return b
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.listed == nil {
		out := make([]container.Summary, 0, len(e.containers))
		for i := len(e.order) - 1; i >= 0; i-- {
			if c := e.containers[e.order[i]]; c != nil {
				out = append(out, c.summary)
			}
		}
		e.listed, _ = json.Marshal(out)
	}
	return e.listed
}

func (e *Engine) lookup(ref string) *simContainer {
	if c := e.containers[ref]; c != nil {
		return c
	}
	for _, c := range e.containers {
		if c.summary.Names[0] == "/"+ref || (len(ref) >= 12 && strings.HasPrefix(c.summary.ID, ref)) {
			return c
		}
	}
	return nil
}

func (e *Engine) inspect(w http.ResponseWriter, r *http.Request) {
	e.inspects.Add(1)
	e.mu.RLock()
	c := e.lookup(r.PathValue("id"))
	var b []byte
	if c != nil {
		b = c.encoded
	}
	e.mu.RUnlock()
	if c == nil {
		writeErr(w, 404, "No such container: "+r.PathValue("id"))
		return
	}
	if b == nil { // encoded on first use, kept until the container changes (a change makes a new simContainer)
		b, _ = json.Marshal(c.inspect)
		e.mu.Lock()
		if e.containers[c.summary.ID] == c {
			c.encoded = b
		}
		e.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (e *Engine) createHandler(w http.ResponseWriter, r *http.Request) {
	var req container.CreateRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, 400, err.Error())
		return
	}
	if req.Config == nil || req.Config.Image == "" {
		writeErr(w, 400, "No image specified")
		return
	}
	name := r.URL.Query().Get("name")
	e.mu.Lock()
	if name != "" && e.lookup(name) != nil {
		e.mu.Unlock()
		writeErr(w, 409, fmt.Sprintf("Conflict. The container name \"/%s\" is already in use", name))
		return
	}
	e.mu.Unlock()
	if name == "" {
		name = "sim_" + randomHex(4)
	}
	if req.HostConfig == nil {
		req.HostConfig = &container.HostConfig{}
	}
	id := e.create(name, req.Config, req.HostConfig)
	writeJSON(w, 201, container.CreateResponse{ID: id, Warnings: []string{}})
}

// create adds a container in state "created" and emits its event.
func (e *Engine) create(name string, cfg *container.Config, hc *container.HostConfig) string {
	id := randomHex(32)
	e.mu.Lock()
	e.clock++
	now := e.clock
	c := &simContainer{
		summary: container.Summary{ID: id, Names: []string{"/" + name}, Image: cfg.Image, ImageID: e.images[0].ID,
			Command: strings.Join(cfg.Cmd, " "), Created: now, Labels: cfg.Labels, State: "created", Status: "Created"},
	}
	c.inspect = container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{ID: id, Name: "/" + name, Image: e.images[0].ID,
			Created: time.Unix(now, 0).UTC().Format(time.RFC3339Nano), HostConfig: hc,
			State: &container.State{Status: "created"}},
		Config: cfg, NetworkSettings: &container.NetworkSettings{},
	}
	e.containers[id] = c
	e.order = append(e.order, id)
	e.listed = nil
	e.mu.Unlock()
	e.emit("container", "create", id, name, cfg.Image, cfg.Labels)
	return id
}

func (e *Engine) setState(id, state string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.containers[id]
	if c == nil {
		return
	}
	nc := *c
	nc.encoded = nil
	nc.summary.State = state
	st := *c.inspect.State
	st.Status, st.Running, st.Paused = state, state == "running" || state == "paused", state == "paused"
	base := *c.inspect.ContainerJSONBase
	base.State = &st
	nc.inspect.ContainerJSONBase = &base
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if st.Running && !c.inspect.State.Running {
		st.StartedAt = now
	} else if !st.Running {
		st.FinishedAt = now
	}
	switch {
	case state == "running" && hasHealthcheck(c.inspect.Config) && !c.inspect.State.Running:
		// A container with a health check starts as the engine shows it: starting until its first check.
		nc.summary.Status = "Up 1 second (health: starting)"
		st.Health = &container.Health{Status: "starting"}
	case state == "running":
		nc.summary.Status = "Up 1 second"
	case state == "paused":
		nc.summary.Status = "Up 1 second (Paused)"
	default:
		nc.summary.Status = "Exited (0) 1 second ago"
	}
	e.containers[id] = &nc
	e.listed = nil
}

func hasHealthcheck(cfg *container.Config) bool {
	return cfg != nil && cfg.Healthcheck != nil && len(cfg.Healthcheck.Test) > 0 && cfg.Healthcheck.Test[0] != "NONE"
}

// extract keeps the archive extracted into a container (nothing is extracted: Archive returns it).
func (e *Engine) extract(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.lookup(r.PathValue("id"))
	if c == nil {
		http.Error(w, `{"message":"No such container"}`, http.StatusNotFound)
		return
	}
	if e.archives == nil {
		e.archives = map[string][][]byte{}
	}
	e.archives[c.summary.ID] = append(e.archives[c.summary.ID], body)
}

func (e *Engine) action(w http.ResponseWriter, r *http.Request) {
	e.mu.RLock()
	c := e.lookup(r.PathValue("id"))
	e.mu.RUnlock()
	if c == nil {
		writeErr(w, 404, "No such container: "+r.PathValue("id"))
		return
	}
	id, act := c.summary.ID, r.PathValue("action")
	states := map[string]string{"start": "running", "restart": "running", "unpause": "running", "stop": "exited",
		"kill": "exited", "pause": "paused"}
	switch {
	case act == "wait":
		writeJSON(w, 200, container.WaitResponse{StatusCode: 0})
		return
	case states[act] != "":
		e.setState(id, states[act])
		e.emit("container", act, id, strings.TrimPrefix(c.summary.Names[0], "/"), c.summary.Image, c.summary.Labels)
		w.WriteHeader(204)
	default:
		writeErr(w, 404, "page not found")
	}
}

func (e *Engine) remove(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	c := e.lookup(r.PathValue("id"))
	if c != nil {
		delete(e.containers, c.summary.ID)
		e.listed = nil
	}
	e.mu.Unlock()
	if c == nil {
		writeErr(w, 404, "No such container: "+r.PathValue("id"))
		return
	}
	e.emit("container", "destroy", c.summary.ID, strings.TrimPrefix(c.summary.Names[0], "/"), c.summary.Image, c.summary.Labels)
	w.WriteHeader(204)
}

// events streams what the engine does until the client leaves.
func (e *Engine) events(w http.ResponseWriter, r *http.Request) {
	ch := make(chan events.Message, 256)
	e.mu.Lock()
	e.subs[ch] = struct{}{}
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.subs, ch)
		e.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	w.(http.Flusher).Flush()
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return
		case m := <-ch:
			enc.Encode(m)
			for more := true; more; { // what is already waiting goes out with it, in one write
				select {
				case m := <-ch:
					enc.Encode(m)
				default:
					more = false
				}
			}
			w.(http.Flusher).Flush()
		}
	}
}

// emit reports an event about a container; its attributes are the container's labels, its name and image, as
// the engine's are.
func (e *Engine) emit(typ, action, id, name, image string, labels map[string]string) {
	now := time.Now()
	attrs := make(map[string]string, len(labels)+2)
	for k, v := range labels {
		attrs[k] = v
	}
	attrs["name"], attrs["image"] = name, image
	m := events.Message{Type: events.Type(typ), Action: events.Action(action), Status: action, ID: id, From: image,
		Actor: events.Actor{ID: id, Attributes: attrs},
		Time:  now.Unix(), TimeNano: now.UnixNano()}
	e.mu.RLock()
	defer e.mu.RUnlock()
	for ch := range e.subs {
		select {
		case ch <- m:
		default:
		}
	}
}
