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
func (s *Server) createExec(w http.ResponseWriter, r *http.Request) {
	ct, ok := s.healthyContainer(w, r)
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
	var out container.ExecCreateResponse
	_, err = ct.Engine.Do(r.Context(), http.MethodPost, apiVersion(r), "/containers/"+ct.ID+"/exec", nil, nil, bytesReader(body), &out)
	if err != nil {
		writeError(w, err)
		return
	}
	s.b.RecordExec(ct, out.ID)
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) startExec(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	e, err := s.b.ExecEngine(r.Context(), id)
	if err != nil {
		writeError(w, err)
		return
	}
	s.hijack(w, r, e, "/exec/"+id+"/start")
}

func (s *Server) passExec(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	e, err := s.b.ExecEngine(r.Context(), id)
	if err != nil {
		writeError(w, err)
		return
	}
	p := r.URL.Path
	if v := apiVersion(r); v != "" {
		p = p[len("/v"+v):]
	}
	s.forward(w, r, e, p)
}
