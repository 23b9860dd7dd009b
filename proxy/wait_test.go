package proxy

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"

	"swarm/cluster"
)

func containerEvent(id, action string, attrs map[string]string) cluster.Event {
	return cluster.Event{Message: events.Message{Type: events.ContainerEventType, Action: events.Action(action),
		Actor: events.Actor{ID: id, Attributes: attrs}}}
}

// A removal wait is the engine's answer when it comes; when the engine reported the removal but never answers,
// the manager answers with the exit code of the engine's die event.
func TestAwaitRemoval(t *testing.T) {
	s := &Server{}
	evs, answer := make(chan cluster.Event, 8), make(chan []byte, 1)
	answer <- []byte(`{"StatusCode":7}`)
	if got := s.awaitRemoval(context.Background(), "c1", evs, answer); string(got) != `{"StatusCode":7}` {
		t.Errorf("the engine's answer: %s", got)
	}

	evs <- containerEvent("other", "destroy", nil)
	evs <- containerEvent("c1", "die", map[string]string{"exitCode": "3"})
	evs <- containerEvent("c1", "destroy", nil)
	start := time.Now()
	got := s.awaitRemoval(context.Background(), "c1", evs, make(chan []byte))
	var res struct {
		StatusCode int
		Error      *struct{ Message string }
	}
	if err := json.Unmarshal(got, &res); err != nil || res.StatusCode != 3 || res.Error != nil {
		t.Errorf("answer after the destroy event: %s (%v)", got, err)
	}
	if waited := time.Since(start); waited < removalGrace {
		t.Errorf("answered %v after the destroy event, before the engine's grace of %v", waited, removalGrace)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := s.awaitRemoval(ctx, "c1", make(chan cluster.Event), make(chan []byte)); got != nil {
		t.Errorf("a client that went away got %s", got)
	}
}
