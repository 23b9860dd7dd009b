package proxy

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/errdefs"
	"github.com/gorilla/mux"

	"swarm/cluster"
)

// maxJSONBody bounds request bodies the manager decodes itself.
const maxJSONBody = 4 << 20

func (c *containerAPI) listContainers(w http.ResponseWriter, r *http.Request) {
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
	list, err := c.b.ListContainersJSON(r.Context(), opts)
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

func (c *containerAPI) createContainer(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
	if err != nil {
		writeError(w, badRequest("reading the request body: %w", err))
		return
	}
	if len(body) > maxJSONBody {
		writeError(w, errdefs.InvalidParameter(fmt.Errorf("container create body larger than %d bytes", maxJSONBody)))
		return
	}
	if err := c.freeOfIngress(body); err != nil {
		writeError(w, err)
		return
	}
	if body, err = withClusterDNS(r.Context(), c.nets, body, c.log); err != nil {
		writeError(w, err)
		return
	}
	resp, err := c.b.CreateContainer(r.Context(), cluster.CreateRequest{
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
func (c *containerAPI) container(w http.ResponseWriter, r *http.Request) (*cluster.Container, bool) {
	ct, err := c.b.Container(mux.Vars(r)["name"])
	if err != nil {
		writeError(w, err)
		return nil, false
	}
	return ct, true
}

// unhealthyNodeError is a call about a container whose node is unhealthy: the original's words first, then ours.
type unhealthyNodeError struct {
	id   string
	down *cluster.NodeDownError
}

func (e unhealthyNodeError) Error() string {
	return fmt.Sprintf("Container %s running on unhealthy node %s\n%v", e.id, e.down.Node, e.down)
}

func (e unhealthyNodeError) Unwrap() error { return e.down }

// healthyContainer resolves {name} to a container whose engine is healthy; on failure the error is written.
func (c *containerAPI) healthyContainer(w http.ResponseWriter, r *http.Request) (*cluster.Container, bool) {
	ct, ok := c.container(w, r)
	if ok && !ct.Engine.Healthy() {
		writeError(w, unhealthyNodeError{id: ct.ID, down: &cluster.NodeDownError{Node: ct.Engine.Name(), Addr: ct.Engine.Addr(),
			Err: fmt.Errorf("container %s is on an unhealthy node (%s)", shortID(ct.ID), ct.Engine.State())}})
		return nil, false
	}
	return ct, ok
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
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
func (c *containerAPI) passContainer(w http.ResponseWriter, r *http.Request) {
	c.onContainer(w, r, streamed)
}

// relayContainer relays a read whose answer may be long (logs, export, archive) as bytes.
func (c *containerAPI) relayContainer(w http.ResponseWriter, r *http.Request) {
	c.onContainer(w, r, rawBytes)
}

// attachContainer takes the connection over for attach.
func (c *containerAPI) attachContainer(w http.ResponseWriter, r *http.Request) {
	c.onContainer(w, r, hijacked)
}

func (c *containerAPI) onContainer(w http.ResponseWriter, r *http.Request, how mode) {
	if ct, ok := c.healthyContainer(w, r); ok {
		c.fw.send(w, r, forward{to: engineTarget{ct.Engine}, path: containerPath(r, ct), how: how})
	}
}

// changeContainer forwards a call that changes the container (start, stop, kill, restart, pause, unpause,
// update, wait); its answer reaches the client once the cache shows the change, so a client acting on it (a list
// after stop, docker run after its wait) sees the new state. A wait's status line goes at once (the docker CLI
// waits for it before it starts the container); its body comes once the container was re-read.
func (c *containerAPI) changeContainer(w http.ResponseWriter, r *http.Request) {
	ct, ok := c.healthyContainer(w, r)
	if !ok {
		return
	}
	f := forward{to: engineTarget{ct.Engine}, path: containerPath(r, ct), how: answered,
		changes: cluster.Changes{Container: ct.ID}}
	if strings.HasSuffix(f.path, "/wait") {
		if r.URL.Query().Get("condition") == "removed" {
			c.waitRemoved(w, r, ct, f.path)
			return
		}
		f.how, f.changes.Wait = streamed, true
	}
	c.fw.send(w, r, f)
}

func (c *containerAPI) removeContainer(w http.ResponseWriter, r *http.Request) {
	if ct, ok := c.healthyContainer(w, r); ok {
		c.fw.send(w, r, forward{to: engineTarget{ct.Engine}, path: "/containers/" + ct.ID, how: answered,
			changes: cluster.Changes{Container: ct.ID}})
	}
}

// inspectContainer answers with the engine's inspect and the node, as the original did (the cluster keeps and
// gives again answers nothing can have changed).
func (c *containerAPI) inspectContainer(w http.ResponseWriter, r *http.Request) {
	ct, ok := c.healthyContainer(w, r)
	if !ok {
		return
	}
	out, err := c.b.Inspect(r.Context(), ct, apiVersion(r), r.URL.RawQuery)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	w.Write(out)
}

// renameContainer keeps names unique across the cluster, then renames on the engine.
func (c *containerAPI) renameContainer(w http.ResponseWriter, r *http.Request) {
	ct, ok := c.container(w, r)
	if !ok {
		return
	}
	name := r.URL.Query().Get("name")
	if other, err := c.b.Container(name); err == nil && other.Name() == name {
		writeError(w, errdefs.Conflict(fmt.Errorf("Conflict: The container name \"/%s\" is already in use by container %q on node %s. You have to remove (or rename) that container to be able to reuse that name.", name, other.ID, other.Engine.Name())))
		return
	}
	c.fw.send(w, r, forward{to: engineTarget{ct.Engine}, path: "/containers/" + ct.ID + "/rename", how: answered,
		changes: cluster.Changes{Container: ct.ID}})
}

// commit forwards to the engine owning the container named in the query.
func (c *containerAPI) commit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ct, err := c.b.Container(q.Get("container"))
	if err != nil {
		writeError(w, err)
		return
	}
	q.Set("container", ct.ID)
	r.URL.RawQuery = q.Encode()
	c.fw.send(w, r, forward{to: engineTarget{ct.Engine}, path: "/commit", changes: cluster.Changes{Lists: cluster.Images}})
}
