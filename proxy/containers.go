package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/errdefs"
	"github.com/docker/go-connections/nat"
	"github.com/gorilla/mux"

	"swarm/cluster"
)

// maxJSONBody bounds request bodies the manager decodes itself.
const maxJSONBody = 4 << 20

func (s *Server) listContainers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := filters.FromJSON(q.Get("filters"))
	if err != nil {
		writeError(w, badRequest("invalid filters: %w", err))
		return
	}
	opts := cluster.ListOptions{All: boolParam(q.Get("all")), Before: q.Get("before"), Since: q.Get("since"), Filters: f}
	if l := q.Get("limit"); l != "" {
		if opts.Limit, err = strconv.Atoi(l); err != nil {
			writeError(w, badRequest("invalid limit: %w", err))
			return
		}
	}
	list, err := s.b.ListContainersJSON(opts)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	list.WriteJSON(w)
}

func boolParam(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b || v == "yes"
}

func (s *Server) createContainer(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
	if err != nil {
		writeError(w, badRequest("reading the request body: %w", err))
		return
	}
	if len(body) > maxJSONBody {
		writeError(w, errdefs.InvalidParameter(fmt.Errorf("container create body larger than %d bytes", maxJSONBody)))
		return
	}
	resp, err := s.b.CreateContainer(r.Context(), cluster.CreateRequest{
		Name: r.URL.Query().Get("name"), Body: body, Version: apiVersion(r), Platform: r.URL.Query().Get("platform"),
		RegistryAuth: r.Header.Get("X-Registry-Auth"),
	})
	if err != nil {
		writeError(w, err)
		return
	}
	if resp.Warnings == nil {
		resp.Warnings = []string{}
	}
	writeJSON(w, http.StatusCreated, resp.CreateResponse)
}

// container resolves the {name} of the route; on failure the error has been written.
func (s *Server) container(w http.ResponseWriter, r *http.Request) (*cluster.Container, bool) {
	ct, err := s.b.Container(mux.Vars(r)["name"])
	if err != nil {
		writeError(w, err)
		return nil, false
	}
	return ct, true
}

// healthyContainer resolves {name} to a container whose engine is healthy; on failure the error is written.
func (s *Server) healthyContainer(w http.ResponseWriter, r *http.Request) (*cluster.Container, bool) {
	ct, ok := s.container(w, r)
	if ok && !ct.Engine.Healthy() {
		writeError(w, unhealthy(ct))
		return nil, false
	}
	return ct, ok
}

// containerPath is the request's path for the engine, without version prefix: the container reference
// replaced by the full ID.
func containerPath(r *http.Request, ct *cluster.Container) string {
	p := r.URL.Path
	if v := apiVersion(r); v != "" {
		p = strings.TrimPrefix(p, "/v"+v)
	}
	return "/containers/" + ct.ID + strings.TrimPrefix(p, "/containers/"+mux.Vars(r)["name"])
}

// passContainer forwards a call that does not change the container.
func (s *Server) passContainer(w http.ResponseWriter, r *http.Request) {
	ct, ok := s.healthyContainer(w, r)
	if !ok {
		return
	}
	s.forward(w, r, ct.Engine, containerPath(r, ct))
}

// changeContainer forwards a call that changes the container, then refreshes the cache so the next list is right.
func (s *Server) changeContainer(w http.ResponseWriter, r *http.Request) {
	ct, ok := s.healthyContainer(w, r)
	if !ok {
		return
	}
	path := containerPath(r, ct)
	if strings.HasSuffix(path, "/wait") && r.URL.Query().Get("condition") == "removed" {
		s.waitRemoved(w, r, ct, path)
		return
	}
	s.forwardThenRefresh(w, r, ct, path)
}

// forwardThenRefresh forwards a call that changes a container and refreshes the cache before the answer
// reaches the client (headers included), so a client acting on the answer (a list after stop, a restart
// after rename, docker run after its wait) sees the new state.
// A wait is different: its status line must reach the client at once (the docker CLI waits for it before
// starting the container), so only its body waits for the refresh.
// Other calls promise their re-read before they are sent, so the events they cause start none of their own.
func (s *Server) forwardThenRefresh(w http.ResponseWriter, r *http.Request, ct *cluster.Container, path string) {
	ctx := context.WithoutCancel(r.Context())
	wait := strings.HasSuffix(path, "/wait")
	refresh := func() { s.b.Refresh(ctx, ct) }
	if !wait { // a wait may last for hours: events meanwhile must be re-read as they come
		reread := s.b.Expect(ct)
		refresh = func() { reread(ctx) }
	}
	rw := &refreshFirst{ResponseWriter: w, refresh: refresh, passHeader: wait}
	defer rw.once.Do(rw.refresh) // a promised re-read happens whatever becomes of the call
	if wait {
		s.forward(rw, r, ct.Engine, path) // its status line is flushed at once, its body comes at the exit
	} else {
		s.relay(rw, r, ct.Engine, path)
	}
	rw.release()
}

// refreshFirst holds the status line and flushes until the refresh has run (at the first body byte, or at
// the end of an answer without body).
type refreshFirst struct {
	http.ResponseWriter
	refresh    func()
	once       sync.Once
	code       int
	sent       bool
	passHeader bool // send the status line and flushes through at once
}

func (r *refreshFirst) WriteHeader(code int) {
	if r.passHeader {
		r.sent = true
		r.ResponseWriter.WriteHeader(code)
		return
	}
	r.code = code
}

func (r *refreshFirst) release() {
	r.once.Do(r.refresh)
	if !r.sent {
		r.sent = true
		if r.code != 0 {
			r.ResponseWriter.WriteHeader(r.code)
		}
	}
}

func (r *refreshFirst) Write(b []byte) (int, error) {
	r.release()
	return r.ResponseWriter.Write(b)
}

func (r *refreshFirst) Flush() {
	if !r.sent {
		return
	}
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *Server) removeContainer(w http.ResponseWriter, r *http.Request) {
	ct, ok := s.healthyContainer(w, r)
	if !ok {
		return
	}
	s.forwardThenRefresh(w, r, ct, "/containers/"+ct.ID)
}

func (s *Server) attachContainer(w http.ResponseWriter, r *http.Request) {
	ct, ok := s.healthyContainer(w, r)
	if !ok {
		return
	}
	s.hijack(w, r, ct.Engine, "/containers/"+ct.ID+"/attach")
}

// inspectContainer reads the container from its engine and adds the node, as the original did. The answer is
// kept and given again while nothing can have changed the container (see cluster's kept_inspects.go); an
// inspect with a query (size) always goes to the engine.
func (s *Server) inspectContainer(w http.ResponseWriter, r *http.Request) {
	ct, ok := s.healthyContainer(w, r)
	if !ok {
		return
	}
	e, version, plain := ct.Engine, ct.Engine.NegotiatedVersion(apiVersion(r)), r.URL.RawQuery == ""
	if plain {
		if out := e.KeptInspect(ct.ID, version); out != nil {
			writeInspect(w, out)
			return
		}
	}
	mark := e.InspectMark()
	var body []byte
	if _, err := e.Do(r.Context(), http.MethodGet, version, "/containers/"+ct.ID+"/json", r.URL.Query(), nil, nil, &body); err != nil {
		writeError(w, err)
		return
	}
	status, err := inspectedStatus(body)
	if err != nil {
		writeError(w, fmt.Errorf("node %s answered inspect with invalid JSON: %w", e.Name(), err))
		return
	}
	if status != "" && status != ct.State {
		s.b.Refresh(r.Context(), ct) // the engine knows better than the cache: catch up now, not at the event
	}
	out, err := withNode(body, e)
	if err != nil {
		writeError(w, err)
		return
	}
	if plain {
		e.KeepInspect(ct.ID, version, out, mark)
	}
	writeInspect(w, out)
}

// withNode is an engine's inspect answer with the node added (and ports published on all interfaces shown at
// the node's IP).
func withNode(body []byte, e *cluster.Engine) ([]byte, error) {
	node, _ := json.Marshal(nodeOf(e))
	end := bytes.LastIndexByte(body, '}')
	if end < 0 {
		return nil, fmt.Errorf("node %s answered inspect with no object", e.Name())
	}
	if !bytes.Contains(body, []byte(`"HostIp":"0.0.0.0"`)) { // common case: add Node without re-encoding
		sep := `,"Node":`
		if head := bytes.TrimRight(body[:end], " \t\r\n"); len(head) > 0 && head[len(head)-1] == '{' {
			sep = `"Node":`
		}
		return append(append(append(body[:end:end], sep...), node...), "}\n"...), nil
	}
	var raw map[string]json.RawMessage
	json.Unmarshal(body, &raw)
	raw["Node"] = node
	publishedOnNode(raw, e.IP())
	out, err := json.Marshal(raw)
	return append(out, '\n'), err
}

func writeInspect(w http.ResponseWriter, out []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	w.Write(out)
}

// inspectedStatus is State.Status of an engine's inspect answer, found without decoding the whole answer where
// the engine wrote it as it always does ({"Id":...,"State":{"Status":"running",...); anything else is decoded.
func inspectedStatus(body []byte) (string, error) {
	const key = `,"State":{"Status":"`
	if i := bytes.Index(body, []byte(key)); i > 0 && json.Valid(body) {
		rest := body[i+len(key):]
		if j := bytes.IndexByte(rest, '"'); j >= 0 && bytes.IndexByte(rest[:j], '\\') < 0 {
			return string(rest[:j]), nil
		}
	}
	var st struct{ State struct{ Status string } }
	err := json.Unmarshal(body, &st)
	return st.State.Status, err
}

// publishedOnNode shows ports published on all interfaces at the node's IP, where clients can reach them.
func publishedOnNode(raw map[string]json.RawMessage, ip string) {
	var ns map[string]json.RawMessage
	if json.Unmarshal(raw["NetworkSettings"], &ns) != nil || ns == nil {
		return
	}
	var ports nat.PortMap
	if json.Unmarshal(ns["Ports"], &ports) != nil || len(ports) == 0 {
		return
	}
	for p, bs := range ports {
		for i := range bs {
			if bs[i].HostIP == "0.0.0.0" {
				bs[i].HostIP = ip
			}
		}
		ports[p] = bs
	}
	ns["Ports"], _ = json.Marshal(ports)
	raw["NetworkSettings"], _ = json.Marshal(ns)
}

type nodeJSON struct {
	ID     string            `json:"ID"`
	IP     string            `json:"IP"`
	Addr   string            `json:"Addr"`
	Name   string            `json:"Name"`
	Labels map[string]string `json:"Labels,omitempty"`
}

func nodeOf(e *cluster.Engine) nodeJSON {
	return nodeJSON{ID: e.ID(), IP: e.IP(), Addr: e.Addr(), Name: e.Name()}
}

// renameContainer keeps names unique across the cluster, then renames on the engine.
func (s *Server) renameContainer(w http.ResponseWriter, r *http.Request) {
	ct, ok := s.container(w, r)
	if !ok {
		return
	}
	name := r.URL.Query().Get("name")
	if other, err := s.b.Container(name); err == nil && other.Name() == name {
		writeError(w, errdefs.Conflict(fmt.Errorf("Conflict: The container name \"/%s\" is already in use by container %q on node %s. You have to remove (or rename) that container to be able to reuse that name.", name, other.ID, other.Engine.Name())))
		return
	}
	s.forwardThenRefresh(w, r, ct, "/containers/"+ct.ID+"/rename")
}

// commit forwards to the engine owning the container named in the query.
func (s *Server) commit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ct, err := s.b.Container(q.Get("container"))
	if err != nil {
		writeError(w, err)
		return
	}
	q.Set("container", ct.ID)
	r.URL.RawQuery = q.Encode()
	s.forward(w, r, ct.Engine, "/commit")
	ct.Engine.RefreshImages(r.Context())
}
