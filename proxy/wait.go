package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"swarm/cluster"
)

// removalGrace is how long a wait for a container's removal may go unanswered by the engine after the engine
// reported the removal (its destroy event) before the manager answers it itself.
const removalGrace = 3 * time.Second

// waitRemoved relays `POST /containers/{id}/wait?condition=removed` (docker run --rm). dockerd 20.10 can
// leave such a wait unanswered for ever when it arrives just as the container is removed (the wait registers
// on the container after the removal released its waiters); a client talking to the engine directly hangs the
// same. The manager sees the engine's destroy event: if the engine's answer has not come removalGrace after
// it, the manager answers as the engine would have, with the exit code of the container's die event, from the
// manager's own stream or else from the engine's event log. Without one it answers with an error (the docker CLI
// then exits 125), never with an exit code it does not know.
func (c *containerAPI) waitRemoved(w http.ResponseWriter, r *http.Request, ct *cluster.Container, path string) {
	since := time.Now()
	_, evs, unsubscribe := c.b.Subscribe(time.Time{}) // before the wait is sent: its destroy cannot be missed
	defer unsubscribe()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	body, err := ct.Engine.Open(ctx, cluster.Call{Method: http.MethodPost, Path: path, Version: apiVersion(r),
		Query: r.URL.RawQuery, Changes: cluster.Changes{Container: ct.ID, Wait: true}})
	if err != nil {
		writeError(w, err)
		return
	}
	defer body.Close()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	http.NewResponseController(w).Flush() // the docker CLI waits for the status line before it starts the container
	answer := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(body, 64<<10))
		answer <- b
	}()
	b, exit, ok := awaitRemoval(ctx, ct.ID, evs, answer)
	switch {
	case !ok: // the client went away
	case b != nil:
		w.Write(b)
	case exit != nil:
		w.Write(waitAnswer(*exit, ""))
	default:
		w.Write(c.missedExit(ctx, ct, since))
	}
}

// awaitRemoval returns the engine's answer to a removal wait (b); or, removalGrace after the engine's destroy
// event without an answer, the exit code of the die event seen before it (exit, nil if none was seen). ok is
// false when the client went away.
func awaitRemoval(ctx context.Context, id string, evs <-chan cluster.Event, answer <-chan []byte) (b []byte, exit *int, ok bool) {
	var grace <-chan time.Time
	for {
		select {
		case b := <-answer:
			return b, nil, true
		case <-ctx.Done():
			return nil, nil, false
		case <-grace:
			return nil, exit, true
		case ev, open := <-evs:
			if !open {
				evs = nil // dropped as a slow subscriber: wait for the engine alone
				continue
			}
			if ev.Actor.ID != id {
				continue
			}
			switch ev.Action {
			case events.ActionDie:
				if c, err := strconv.Atoi(ev.Actor.Attributes["exitCode"]); err == nil {
					exit = &c
				}
			case events.ActionDestroy:
				if grace == nil {
					grace = time.After(removalGrace)
				}
			}
		}
	}
}

// missedExit is the answer to a removal wait whose container's die event the manager missed: the exit code
// from the engine's own event log since the wait began, or an error saying it is not known.
func (c *containerAPI) missedExit(ctx context.Context, ct *cluster.Container, since time.Time) []byte {
	code, err := engineExitCode(ctx, ct.Engine, ct.ID, since)
	if err == nil {
		return waitAnswer(code, "")
	}
	c.log.Warn("a removal wait the engine left unanswered: exit code unknown", "container", ct.ID, "node", ct.Engine.Name(), "err", err)
	return waitAnswer(-1, fmt.Sprintf("container %s was removed on node %s, but its exit code is not known: "+
		"the engine did not answer the wait and its events no longer show the exit", shortID(ct.ID), ct.Engine.Name()))
}

// engineExitCode asks the engine's event log for the exit code of container id's die since a time.
func engineExitCode(ctx context.Context, e *cluster.Engine, id string, since time.Time) (int, error) {
	f, _ := filters.ToJSON(filters.NewArgs(filters.Arg("container", id), filters.Arg("event", string(events.ActionDie))))
	q := url.Values{"since": {unixTime(since.Add(-time.Second))}, "until": {unixTime(time.Now())}, "filters": {f}}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body, err := e.Open(ctx, cluster.Call{Method: http.MethodGet, Path: "/events", Query: q.Encode()})
	if err != nil {
		return 0, err
	}
	defer body.Close()
	code, found := 0, false
	for dec := json.NewDecoder(body); ; {
		var m events.Message
		if err := dec.Decode(&m); err != nil {
			break
		}
		if c, err := strconv.Atoi(m.Actor.Attributes["exitCode"]); err == nil && m.Actor.ID == id && m.Action == events.ActionDie {
			code, found = c, true
		}
	}
	if !found {
		return 0, fmt.Errorf("no die event of %s in the engine's log", id)
	}
	return code, nil
}

func unixTime(t time.Time) string { return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond()) }

// waitAnswer is a wait's answer as the engine writes it; with msg, an error (the exit code is not known).
func waitAnswer(code int, msg string) []byte {
	answer := container.WaitResponse{StatusCode: int64(code)}
	if msg != "" {
		answer.Error = &container.WaitExitError{Message: msg}
	}
	b, _ := json.Marshal(answer)
	return append(b, '\n')
}
