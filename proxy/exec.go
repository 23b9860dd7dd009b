package proxy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"
	"github.com/gorilla/mux"
)

// createExec creates the exec on the container's engine and remembers where it lives.
func (c *containerAPI) createExec(w http.ResponseWriter, r *http.Request) {
	ct, ok := c.healthyContainer(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody))
	if err != nil {
		writeError(w, badRequest("reading the request body: %w", err))
		return
	}
	var opts container.ExecOptions
	if err := json.Unmarshal(body, &opts); err != nil {
		writeError(w, badRequest("invalid exec body: %w", err))
		return
	}
	if len(opts.Cmd) == 0 {
		writeError(w, errdefs.InvalidParameter(fmt.Errorf("No exec command specified")))
		return
	}
	out, err := c.b.CreateExec(r.Context(), ct, apiVersion(r), body)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (c *containerAPI) startExec(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	e, err := c.b.ExecEngine(r.Context(), id)
	if err != nil {
		writeError(w, err)
		return
	}
	c.fw.send(w, r, forward{to: engineTarget{e}, path: "/exec/" + id + "/start", how: hijacked})
}

func (c *containerAPI) passExec(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	e, err := c.b.ExecEngine(r.Context(), id)
	if err != nil {
		writeError(w, err)
		return
	}
	c.fw.send(w, r, forward{to: engineTarget{e}, path: stripVersion(r.URL.Path)})
}
