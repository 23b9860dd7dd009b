package cluster

import (
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
)

// EventNode names the engine an event came from (the original's top-level "node" object).
type EventNode struct {
	Name string `json:"Name"`
	ID   string `json:"Id"`
	Addr string `json:"Addr"`
	IP   string `json:"Ip"`
}

// Event is an engine event (or one of swarm's own) with the node it happened on.
type Event struct {
	events.Message
	Node *EventNode `json:"node,omitempty"`
}

// Retention of past events for `docker events --since`.
const (
	eventHistory   = 10000
	subscriberBuff = 1024
)

// eventHub keeps the recent past and fans new events out to subscribers. A subscriber that falls more than
// subscriberBuff events behind is dropped (its channel closed) rather than slowing everyone down.
type eventHub struct {
	mu   sync.Mutex
	ring []Event
	next int
	full bool
	subs map[chan Event]struct{}
}

func newEventHub() *eventHub {
	return &eventHub{ring: make([]Event, eventHistory), subs: map[chan Event]struct{}{}}
}

func (h *eventHub) publish(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ring[h.next] = ev
	h.next = (h.next + 1) % len(h.ring)
	if h.next == 0 {
		h.full = true
	}
	for ch := range h.subs {
		select {
		case ch <- ev:
		default:
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// Subscribe returns the retained events at or after since (none when since is zero) and a channel of new ones,
// atomically, so nothing is missed or repeated. cancel releases the subscription.
func (h *eventHub) Subscribe(since time.Time) (past []Event, ch <-chan Event, cancel func()) {
	c := make(chan Event, subscriberBuff)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !since.IsZero() {
		past = h.since(since)
	}
	h.subs[c] = struct{}{}
	return past, c, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[c]; ok {
			delete(h.subs, c)
			close(c)
		}
	}
}

func (h *eventHub) since(t time.Time) []Event {
	var out []Event
	start, n := 0, h.next
	if h.full {
		start, n = h.next, len(h.ring)
	}
	ns := t.UnixNano()
	for i := 0; i < n; i++ {
		ev := h.ring[(start+i)%len(h.ring)]
		if ev.TimeNano >= ns {
			out = append(out, ev)
		}
	}
	return out
}

// Listeners is the number of current subscribers (NEventsListener in /info).
func (h *eventHub) Listeners() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
