package cluster

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/docker/docker/api/types/events"

	"swarm/internal/backoff"
)

// life runs an engine from the moment it joins the pool until it leaves: connect (validate and fill the cache,
// retrying), then follow its event stream, probing and syncing again whenever the stream breaks, with the
// periodic refresh beside. ctx is the engine's life: nil for an engine never started, ended when it leaves.
type life struct {
	e      *Engine
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// start runs the engine until parent ends or stop is called.
func (l *life) start(parent context.Context) {
	l.ctx, l.cancel = context.WithCancel(parent)
	l.done = make(chan struct{})
	go l.run(l.ctx)
}

// stop ends the engine's goroutines and marks it Disconnected.
func (l *life) stop() {
	if l.cancel != nil {
		l.cancel()
		<-l.done
	}
	l.e.health.left()
}

// context is the engine's own context, for work that outlives the request that caused it and must end when the
// engine leaves; an engine never started gives the request's context without its cancellation.
func (l *life) context(req context.Context) context.Context {
	if l.ctx != nil {
		return l.ctx
	}
	return context.WithoutCancel(req)
}

// run drives the engine until ctx ends: validate (retrying with backoff while Pending), fill the cache, then
// follow its event stream, probing and re-syncing whenever the stream breaks (after a growing pause when it
// breaks as soon as it opens).
func (l *life) run(ctx context.Context) {
	defer close(l.done)
	e := l.e
	if !l.connect(ctx) {
		return
	}
	e.ticker.start(ctx)
	pause := backoff.Delay{Min: probeInterval, Max: maxProbeInterval}
	for ctx.Err() == nil {
		opened := time.Now()
		l.followEvents(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(opened) < time.Second { // a stream that breaks as it opens is not reopened in a spin
			if !pause.Wait(ctx) {
				return
			}
		} else {
			pause.Reset()
		}
		e.health.probeUntilBack(ctx)
		if ctx.Err() != nil {
			return
		}
		if e.validate(ctx) == nil {
			e.refreshAll(ctx)
		}
	}
}

// connect validates the engine and loads its cache; it retries with backoff until it works or ctx ends.
func (l *life) connect(ctx context.Context) bool {
	e := l.e
	retry := backoff.Delay{Min: time.Second, Max: maxProbeInterval}
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
		e.health.failed(err.Error())
		e.touch()
		if !retry.Wait(ctx) {
			return false
		}
	}
	e.health.connected()
	if e.set.hooks.connected != nil {
		e.set.hooks.connected(e)
	}
	return true
}

// validate reads the engine's spec again (conn.validate) and tells the cluster when its identity moved.
func (e *Engine) validate(ctx context.Context) error {
	renamed, err := e.conn.validate(ctx)
	if err != nil {
		return err
	}
	if renamed {
		e.set.identities.Add(1)
	}
	e.set.dirty.mark(e)
	e.touch()
	return nil
}

// refreshAll re-reads the containers, then images, networks and volumes, then removes orphans it found.
func (e *Engine) refreshAll(ctx context.Context) error {
	if err := e.store.refresh(ctx); err != nil {
		return err
	}
	e.objects.refresh(ctx, Images|Networks|Volumes)
	e.store.orphans.removeDoomed(ctx)
	return nil
}

// sideListsEvery is how often a periodic refresh also re-reads the engine's images, networks and volumes: at
// every sideListsEvery-th one, at every nudge, and whenever the engine (re)connects. Between those the event
// stream keeps them (each image, network or volume event re-reads its list, and a broken stream is followed by
// a whole refresh), so re-reading them every time would mostly cost calls (BENCHMARKS.md).
const sideListsEvery = 4

// periodic is one refresh of the ticker's (nudged: asked for): the containers every time, the other lists as
// sideListsEvery says. An engine that is not Healthy is left to its event loop, which probes it and refreshes
// it when it is back.
func (e *Engine) periodic(ctx context.Context, tick int, nudged bool) {
	if !e.Healthy() {
		return
	}
	if nudged || tick%sideListsEvery == 0 {
		e.refreshAll(ctx)
		return
	}
	if e.store.refresh(ctx) == nil {
		e.store.orphans.removeDoomed(ctx)
	}
}

// followEvents reads the engine's event stream until it breaks, keeping the cache current.
func (l *life) followEvents(ctx context.Context) {
	err := l.readEvents(ctx)
	if ctx.Err() == nil {
		l.e.health.failed("event stream: " + err.Error())
	}
}

// readEvents reads the stream itself (the Docker client's Events adds a goroutine per engine and a channel
// hand-off per event).
func (l *life) readEvents(ctx context.Context) error {
	e := l.e
	u := url.URL{Scheme: e.conn.scheme, Host: e.conn.addr, Path: "/v" + e.conn.apiVersion() + "/events"}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := e.set.streamTransport().RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return e.conn.answerError(resp)
	}
	e.kept.reset(true) // changes are heard from now on
	defer e.kept.reset(false)
	dec := json.NewDecoder(resp.Body)
	for {
		var m events.Message
		if err := dec.Decode(&m); err != nil {
			return err
		}
		e.health.count(nil)
		l.handleEvent(ctx, m)
	}
}

// handleEvent passes one engine event on, then updates the cache for it. Publishing first keeps `docker events`
// prompt even when an engine is busy; calls through the manager keep the cache right themselves.
func (l *life) handleEvent(ctx context.Context, m events.Message) {
	e := l.e
	e.kept.forgetOf(m) // before a client can see the event
	if e.set.hooks.event != nil {
		e.set.hooks.event(e, e.decorate(m))
	}
	switch m.Type {
	case events.ContainerEventType:
		if m.Action == events.ActionCommit {
			e.objects.refresh(ctx, Images)
		}
		e.store.onEvent(ctx, m)
	case events.ImageEventType:
		e.objects.refresh(ctx, Images)
	case events.NetworkEventType:
		e.objects.refresh(ctx, Networks)
	case events.VolumeEventType:
		e.objects.refresh(ctx, Volumes)
	case events.DaemonEventType:
		if m.Action == events.ActionReload {
			e.validate(ctx)
		}
	}
}

// healthTold passes on a change of health as one of swarm's events; an engine back from Unhealthy is refreshed.
func (e *Engine) healthTold(event string) {
	e.swarmEvent(event)
	if event == "engine_reconnect" {
		e.ticker.nudge()
	}
}

// swarmEvent emits one of swarm's own events about this engine (engine_connect, engine_disconnect, ...).
func (e *Engine) swarmEvent(action string) {
	if e.set.hooks.event == nil {
		return
	}
	now := time.Now()
	m := events.Message{
		Status: action, From: "swarm", Type: "swarm", Action: events.Action(action),
		Actor: events.Actor{ID: e.ID(), Attributes: map[string]string{}},
		Time:  now.Unix(), TimeNano: now.UnixNano(),
	}
	e.set.hooks.event(e, e.decorate(m))
}

// decorate adds the node to an event as the original did: attributes, "from" suffix and a top-level node object.
func (e *Engine) decorate(m events.Message) Event {
	name, id, addr, ip := e.Name(), e.ID(), e.conn.addr, e.conn.ip
	attrs := make(map[string]string, len(m.Actor.Attributes)+4)
	for k, v := range m.Actor.Attributes {
		attrs[k] = v
	}
	attrs["node.name"], attrs["node.id"], attrs["node.addr"], attrs["node.ip"] = name, id, addr, ip
	m.Actor.Attributes = attrs
	if m.From != "" {
		m.From += " node:" + name
	}
	return Event{Message: m, Node: &EventNode{Name: name, ID: id, Addr: addr, IP: ip}}
}
