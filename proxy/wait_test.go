package proxy

import (
	"context"
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
// the manager has the exit code of the engine's die event, once the engine's grace has passed.
func TestAwaitRemoval(t *testing.T) {
	evs, answer := make(chan cluster.Event, 8), make(chan []byte, 1)
	answer <- []byte(`{"StatusCode":7}`)
	if got, _, ok := awaitRemoval(context.Background(), "c1", evs, answer); !ok || string(got) != `{"StatusCode":7}` {
		t.Errorf("the engine's answer: %s", got)
	}

	evs <- containerEvent("other", "destroy", nil)
	evs <- containerEvent("c1", "die", map[string]string{"exitCode": "3"})
	evs <- containerEvent("c1", "destroy", nil)
	start := time.Now()
	got, exit, ok := awaitRemoval(context.Background(), "c1", evs, make(chan []byte))
	if !ok || got != nil || exit == nil || *exit != 3 {
		t.Errorf("after the destroy event: answer %s, exit %v, ok %v; want the die event's exit 3", got, exit, ok)
	}
	if waited := time.Since(start); waited < removalGrace {
		t.Errorf("answered %v after the destroy event, before the engine's grace of %v", waited, removalGrace)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got, _, ok := awaitRemoval(ctx, "c1", make(chan cluster.Event), make(chan []byte)); ok || got != nil {
		t.Errorf("a client that went away got %s", got)
	}
}
