package proxy

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/docker/docker/api/types/filters"
	timetypes "github.com/docker/docker/api/types/time"

	"swarm/cluster"
)

var eventFilterKeys = map[string]bool{"type": true, "event": true, "container": true, "image": true, "label": true,
	"node": true, "network": true, "volume": true, "daemon": true, "plugin": true, "scope": true, "config": true,
	"secret": true, "service": true}

// events streams the cluster's merged events: the retained past between since and until, then new events
// until `until` passes or the client leaves. Filters are the engine's, plus node=<name or ID>.
func (sys *systemAPI) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := time.Now()
	since, err := eventTime(q.Get("since"), now)
	if err != nil {
		writeError(w, badRequest("invalid since: %w", err))
		return
	}
	until, err := eventTime(q.Get("until"), now)
	if err != nil {
		writeError(w, badRequest("invalid until: %w", err))
		return
	}
	f, err := filters.FromJSON(q.Get("filters"))
	if err == nil {
		err = f.Validate(eventFilterKeys)
	}
	if err != nil {
		writeError(w, badRequest("invalid filters: %w", err))
		return
	}
	from := since
	if from.IsZero() && !until.IsZero() {
		from = time.Unix(0, 1) // with only until, the retained past up to it is sent
	}
	past, ch, cancel := sys.b.Subscribe(from)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	// Events reach the hub in arrival order, which may differ slightly from their timestamps across engines:
	// each one is checked against the window; the stream itself ends at `until`.
	send := func(ev cluster.Event) {
		if (until.IsZero() || ev.TimeNano <= until.UnixNano()) && matchEvent(ev, f) {
			enc.Encode(ev)
		}
	}
	for _, ev := range past {
		send(ev)
	}
	if flusher != nil {
		flusher.Flush()
	}
	if !until.IsZero() && !until.After(now) {
		return
	}
	var deadline <-chan time.Time
	if !until.IsZero() {
		t := time.NewTimer(time.Until(until))
		defer t.Stop()
		deadline = t.C
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-deadline:
			return
		case ev, ok := <-ch:
			if !ok {
				return
			}
			send(ev)
			if flusher != nil {
				flusher.Flush()
			}
		}
	}
}

func eventTime(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	ts, err := timetypes.GetTimestamp(v, now)
	if err != nil {
		return time.Time{}, err
	}
	sec, nsec, err := timetypes.ParseTimestamps(ts, 0)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(sec, nsec), nil
}

func matchEvent(ev cluster.Event, f filters.Args) bool {
	if f.Len() == 0 {
		return true
	}
	attrs := ev.Actor.Attributes
	typ := string(ev.Type)
	if f.Contains("type") && !f.ExactMatch("type", typ) {
		return false
	}
	action := string(ev.Action)
	if f.Contains("event") && !f.ExactMatch("event", action) && !f.ExactMatch("event", strings.SplitN(action, ":", 2)[0]) {
		return false
	}
	if !f.MatchKVList("label", attrs) {
		return false
	}
	if f.Contains("node") && !f.ExactMatch("node", attrs["node.name"]) && !f.ExactMatch("node", attrs["node.id"]) {
		return false
	}
	for _, key := range []string{"container", "network", "volume", "daemon", "plugin", "config", "secret", "service"} {
		if f.Contains(key) && (typ != key || (!f.ExactMatch(key, ev.Actor.ID) && !f.ExactMatch(key, attrs["name"]) &&
			!f.FuzzyMatch(key, ev.Actor.ID))) {
			return false
		}
	}
	if f.Contains("image") {
		img := attrs["image"]
		if typ == "image" {
			img = ev.Actor.ID
		}
		if !f.ExactMatch("image", img) && !f.ExactMatch("image", attrs["name"]) && !f.ExactMatch("image", strings.Split(img, ":")[0]) {
			return false
		}
	}
	return true
}
