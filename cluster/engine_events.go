package cluster

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/docker/docker/api/types/events"
)

// Probe timing while an engine's event stream is broken: a stopped engine is Unhealthy after
// failureRetry probes, i.e. within a few seconds, not at the next refresh.
const (
	probeInterval    = time.Second
	probeTimeout     = 3 * time.Second
	maxProbeInterval = 10 * time.Second
)

// run drives the engine until ctx ends: validate (retrying with backoff while Pending), fill the cache, then
// follow its event stream, probing and re-syncing whenever the stream breaks (after a growing pause when it
// breaks as soon as it opens).
func (e *Engine) run(ctx context.Context) {
	defer close(e.done)
	if !e.connect(ctx) {
		return
	}
	e.startRefreshTimer(ctx)
	pause := probeInterval
	for ctx.Err() == nil {
		opened := time.Now()
		e.followEvents(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(opened) < time.Second { // a stream that breaks as it opens is not reopened in a spin
			if !sleepCtx(ctx, pause) {
				return
			}
			pause = min(pause*2, maxProbeInterval)
		} else {
			pause = probeInterval
		}
		e.probeUntilBack(ctx)
		if ctx.Err() != nil {
			return
		}
		if err := e.validate(ctx); err == nil {
			e.refreshAll(ctx)
		}
	}
}

// connect validates the engine and loads its cache; it retries with backoff until it works or ctx ends.
func (e *Engine) connect(ctx context.Context) bool {
	backoff := time.Second
	for {
		select {
		case e.set.connecting <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		err := e.validate(ctx)
		if err == nil {
			err = e.refreshAll(ctx)
		}
		<-e.set.connecting
		if err == nil {
			break
		}
		e.mu.Lock()
		e.lastErr, e.updatedAt = err.Error(), time.Now()
		e.mu.Unlock()
		if !sleepCtx(ctx, backoff) {
			return false
		}
		backoff = min(backoff*2, maxProbeInterval)
	}
	e.mu.Lock()
	e.state, e.failures, e.lastErr = StateHealthy, 0, ""
	e.changedBesideContainers()
	e.mu.Unlock()
	e.swarmEvent("engine_connect")
	if e.set.hooks.connected != nil {
		e.set.hooks.connected(e)
	}
	return true
}

// followEvents reads the engine's event stream until it breaks, keeping the cache current. It reads the
// stream itself (the Docker client's Events adds a goroutine per engine and a channel hand-off per event).
func (e *Engine) followEvents(ctx context.Context) {
	err := e.readEvents(ctx)
	if ctx.Err() == nil {
		e.mu.Lock()
		e.lastErr = "event stream: " + err.Error()
		e.mu.Unlock()
	}
}

func (e *Engine) readEvents(ctx context.Context) error {
	u := url.URL{Scheme: e.scheme, Host: e.addr, Path: "/v" + e.APIVersion() + "/events"}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := e.streamTransport().RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return e.readError(resp)
	}
	e.forgetInspects(true) // changes are heard from now on
	defer e.forgetInspects(false)
	dec := json.NewDecoder(resp.Body)
	for {
		var m events.Message
		if err := dec.Decode(&m); err != nil {
			return err
		}
		e.countProbe(nil)
		e.handleEvent(ctx, m)
	}
}

// probeUntilBack pings the engine until it answers, counting each failure against its health.
func (e *Engine) probeUntilBack(ctx context.Context) {
	wait := probeInterval
	for {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		_, err := e.client.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		err = pingOutcome(err)
		e.countProbe(err)
		if err == nil {
			return
		}
		if !sleepCtx(ctx, wait) {
			return
		}
		if e.State() == StateUnhealthy {
			wait = min(wait*2, maxProbeInterval/2)
		}
	}
}

// handleEvent passes one engine event on, then updates the cache for it. Publishing first keeps
// `docker events` prompt even when an engine is busy; calls through the manager refresh the cache themselves.
func (e *Engine) handleEvent(ctx context.Context, m events.Message) {
	e.forgetInspectsOf(m) // before a client can see the event
	if e.set.hooks.event != nil {
		e.set.hooks.event(e, e.decorate(m))
	}
	switch m.Type {
	case events.ContainerEventType:
		e.containerEvent(ctx, m)
	case events.ImageEventType:
		e.RefreshImages(ctx)
	case events.NetworkEventType:
		e.RefreshNetworks(ctx)
	case events.VolumeEventType:
		e.RefreshVolumes(ctx)
	case events.DaemonEventType:
		if m.Action == events.ActionReload {
			e.validate(ctx)
		}
	}
}

// forgetInspectsOf drops the inspect answers an event may have made stale: the container's own events except
// those of reads, and events of other objects that name a container (network connect, volume mount).
func (e *Engine) forgetInspectsOf(m events.Message) {
	switch {
	case m.Type == events.DaemonEventType && m.Action == events.ActionReload:
		e.forgetInspects(true)
	case m.Type == events.ContainerEventType:
		switch m.Action {
		case events.ActionTop, events.ActionResize, events.ActionExport, events.ActionAttach, events.ActionDetach,
			events.ActionCopy, events.ActionArchivePath:
		default:
			e.forgetInspect(m.Actor.ID)
		}
	case m.Actor.Attributes["container"] != "":
		e.forgetInspect(m.Actor.Attributes["container"])
	}
}

func (e *Engine) containerEvent(ctx context.Context, m events.Message) {
	id := m.Actor.ID
	switch m.Action {
	case events.ActionTop, events.ActionResize, events.ActionExport, events.ActionAttach, events.ActionDetach,
		events.ActionExtractToDir, events.ActionCopy, events.ActionArchivePath, events.ActionExecCreate,
		events.ActionExecDetach, events.ActionExecDie:
		return
	case events.ActionDestroy:
		e.mu.Lock()
		delete(e.containers, id)
		delete(e.dirty, id)
		e.markRemoved(id)
		for x, cid := range e.execs {
			if cid == id {
				delete(e.execs, x)
			}
		}
		e.changed()
		e.mu.Unlock()
		return
	case events.ActionCommit:
		e.RefreshImages(ctx)
	}
	if len(m.Action) > 11 && m.Action[:11] == "exec_start:" || alreadyCached(e.byID(id), m) || e.createdHere(m) {
		return
	}
	e.markDirty(ctx, id, &m)
}

// createdHere tells whether m reports the create of a container that a create through this manager has in
// flight (by its swarm ID): that create caches the container itself, or makes sure it goes if its outcome is
// unknown (orphans.go), so the event needs no re-read.
func (e *Engine) createdHere(m events.Message) bool {
	swarmID := m.Actor.Attributes[LabelSwarmID]
	if m.Action != events.ActionCreate || swarmID == "" {
		return false
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.inflight[swarmID] > 0
}

// eventLag bounds how long after a container's start or exit the engine reports it.
const eventLag = 2 * time.Second

// alreadyCached tells whether the cached container already shows what the event reports, so it needs no
// re-read: a create through this manager (putCreated has the re-read in hand; any later read shows it), or a
// start or exit the cache holds with the engine's own time just before the event's (a call through the
// manager re-reads the container after the engine answered, often before the event arrives).
func alreadyCached(ct *Container, m events.Message) bool {
	if ct == nil || ct.RunState == nil {
		return false
	}
	at := time.Unix(0, m.TimeNano)
	near := func(t time.Time) bool { return !t.IsZero() && !t.After(at) && at.Sub(t) < eventLag }
	switch m.Action {
	case events.ActionCreate:
		return true
	case events.ActionStart:
		return !ct.provisional && ct.RunState.Running && near(ct.times.started)
	case events.ActionDie:
		return !ct.provisional && !ct.RunState.Running && near(ct.times.finished)
	}
	return false
}

// eventSettle is how long an event waits before its container is re-read: a call through the manager that
// caused the event re-reads the container itself right after the engine answers, and an event that arrived
// before that re-read began needs no second one.
const eventSettle = 10 * time.Millisecond

// dirtyMark is why a container waits for a re-read: when the first cause arrived, and the events since (none
// when the cause was not an event).
type dirtyMark struct {
	at     time.Time
	events []events.Message
	other  bool // a cause that is not an event: re-read unless a read began since
}

// markDirty notes that a container changed (ev: the event that says so, nil for another cause); refreshDirty
// re-reads it unless a re-read that began after the first cause arrived (and so saw its effect) already did,
// or the cache shows every event by then.
func (e *Engine) markDirty(ctx context.Context, id string, ev *events.Message) {
	e.mu.Lock()
	if e.dirty == nil {
		e.dirty = map[string]*dirtyMark{}
	}
	d := e.dirty[id]
	if d == nil {
		d = &dirtyMark{at: time.Now()}
		e.dirty[id] = d
	}
	if ev != nil {
		d.events = append(d.events, *ev)
	} else {
		d.other = true
	}
	start := !e.draining
	e.draining = true
	e.mu.Unlock()
	if start {
		go e.refreshDirty(ctx)
	}
}

// refreshDirty re-reads the dirty containers until none is left.
func (e *Engine) refreshDirty(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
		case <-time.After(eventSettle):
		}
		e.mu.Lock()
		batch := e.dirty
		e.dirty = nil
		if len(batch) == 0 || ctx.Err() != nil {
			e.draining = false
			e.mu.Unlock()
			return
		}
		var todo []string
		for id, d := range batch {
			switch {
			case e.readSinceLocked(id, d.at) || e.showsLocked(id, d):
			case e.refreshing[id] != (time.Time{}) && !d.other:
				// A re-read that began before the event (the engine's answer overtook its event) is under
				// way: what it finds decides, at the next round, by the engine's clock (alreadyCached).
				e.requeueLocked(id, d)
			default:
				todo = append(todo, id)
			}
		}
		e.mu.Unlock()
		for _, id := range todo {
			e.refreshContainer(ctx, id)
		}
	}
}

// requeueLocked puts a dirty mark back for the next round, merged with any that arrived meanwhile.
func (e *Engine) requeueLocked(id string, d *dirtyMark) {
	if e.dirty == nil {
		e.dirty = map[string]*dirtyMark{}
	}
	if n := e.dirty[id]; n != nil {
		d.events = append(d.events, n.events...)
		d.other = d.other || n.other
	}
	e.dirty[id] = d
}

// showsLocked tells whether the cached container shows every event of a dirty mark (see alreadyCached).
func (e *Engine) showsLocked(id string, d *dirtyMark) bool {
	if d.other {
		return false
	}
	ct := e.containers[id]
	for _, ev := range d.events {
		if !alreadyCached(ct, ev) {
			return false
		}
	}
	return true
}

// readSinceLocked tells whether a re-read of container id began after t (finished, or under way), or is
// promised (it will begin later still).
func (e *Engine) readSinceLocked(id string, t time.Time) bool {
	if ct := e.containers[id]; ct != nil && !ct.provisional && ct.seen.After(t) {
		return true
	}
	if e.promised[id] > 0 {
		return true
	}
	started, ok := e.refreshing[id]
	return ok && started.After(t)
}

// swarmEvent emits one of swarm's own events about this engine (engine_connect, engine_disconnect, ...).
func (e *Engine) swarmEvent(action string) {
	if e.set.hooks.event == nil {
		return
	}
	now := time.Now()
	m := events.Message{
		Status: action, ID: "", From: "swarm", Type: "swarm", Action: events.Action(action),
		Actor: events.Actor{ID: e.ID(), Attributes: map[string]string{}},
		Time:  now.Unix(), TimeNano: now.UnixNano(),
	}
	e.set.hooks.event(e, e.decorate(m))
}

// decorate adds the node to an event as the original did: attributes, "from" suffix and a top-level node object.
func (e *Engine) decorate(m events.Message) eventMessage {
	name, id := e.Name(), e.ID()
	attrs := make(map[string]string, len(m.Actor.Attributes)+4)
	for k, v := range m.Actor.Attributes {
		attrs[k] = v
	}
	attrs["node.name"], attrs["node.id"], attrs["node.addr"], attrs["node.ip"] = name, id, e.addr, e.ip
	m.Actor.Attributes = attrs
	if m.From != "" {
		m.From += " node:" + name
	}
	return eventMessage{Message: m, Node: &EventNode{Name: name, ID: id, Addr: e.addr, IP: e.ip}}
}

// stop ends the engine's goroutines and marks it Disconnected.
func (e *Engine) stop() {
	if e.cancel != nil {
		e.cancel()
		<-e.done
	}
	e.mu.Lock()
	was := e.state
	e.state = StateDisconnected
	e.changedBesideContainers()
	e.mu.Unlock()
	if was == StateHealthy {
		e.swarmEvent("engine_disconnect")
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
