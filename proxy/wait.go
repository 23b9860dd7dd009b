package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"swarm/cluster"
)

// removalGrace is how long a wait for a container's removal may go unanswered by the engine after the engine
// reported the removal (its destroy event) before the manager answers it itself.
const removalGrace = 3 * time.Second

// waitRemoved relays `POST /containers/{id}/wait?condition=removed` (docker run --rm). dockerd 20.10 can
// leave such a wait unanswered for ever when it arrives just as the container is removed (the wait registers
// on the container after the removal released its waiters); a client talking to the engine directly hangs the
// same. The manager sees the engine's destroy event: if the engine's answer has not come removalGrace after
// it, the manager answers with the exit code the engine's die event reported, as the engine would have.
func (s *Server) waitRemoved(w http.ResponseWriter, r *http.Request, ct *cluster.Container, path string) {
	_, evs, unsubscribe := s.b.Subscribe(time.Time{}) // before the wait is sent: its destroy cannot be missed
	defer unsubscribe()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	body, err := ct.Engine.Stream(ctx, http.MethodPost, apiVersion(r), path, r.URL.Query(), nil, nil)
	if err != nil {
		var ee *cluster.EngineError
		if errors.As(err, &ee) && ee.Status == http.StatusNotFound {
			s.b.Refresh(context.WithoutCancel(r.Context()), ct) // already gone: the cache catches up
		}
		writeError(w, err)
		return
	}
	defer body.Close()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush() // the docker CLI waits for the status line before it starts the container
	}
	answer := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(body, 64<<10))
		answer <- b
	}()
	b := s.awaitRemoval(ctx, ct.ID, evs, answer)
	s.b.Refresh(context.WithoutCancel(r.Context()), ct)
	w.Write(b)
}

// awaitRemoval returns the engine's answer to a removal wait, or, removalGrace after the engine's destroy event
// without an answer, the answer the engine owed. Nil when the client went away.
func (s *Server) awaitRemoval(ctx context.Context, id string, evs <-chan cluster.Event, answer <-chan []byte) []byte {
	exitCode := 0
	var grace <-chan time.Time
	for {
		select {
		case b := <-answer:
			return b
		case <-ctx.Done():
			return nil
		case <-grace:
			b, _ := json.Marshal(struct {
				StatusCode int
				Error      *struct{ Message string } `json:",omitempty"`
			}{StatusCode: exitCode})
			return append(b, '\n')
		case ev, ok := <-evs:
			if !ok {
				evs = nil // dropped as a slow subscriber: wait for the engine alone
				continue
			}
			if ev.Actor.ID != id {
				continue
			}
			switch ev.Action {
			case "die":
				if c, err := strconv.Atoi(ev.Actor.Attributes["exitCode"]); err == nil {
					exitCode = c
				}
			case "destroy":
				if grace == nil {
					grace = time.After(removalGrace)
				}
			}
		}
	}
}
