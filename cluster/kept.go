package cluster

import (
	"bytes"
	"sync"

	"github.com/docker/docker/api/types/events"
)

// keptInspects are the inspect answers of one engine's containers given again while nothing can have changed
// the container since it was read (Cluster.Inspect):
//   - the engine's event stream was open from before the read until now (every change is reported on it);
//   - no event about the container (or naming it: network connect, volume mount) arrived since the read;
//   - no call through the manager re-read it since (calls that change a container re-read it before they
//     answer, so a client acting on an answer never sees the inspect from before its call);
//   - the container reports no health probes (their log changes without an event).
//
// A read that overlaps anything forgotten on its engine is not kept (epoch moves at every forget and whenever
// the stream opens or breaks). Answers are kept per API version, up to maxKeptBytes for all engines together;
// an engine over the budget drops its own answers first, arbitrary ones.
type keptInspects struct {
	set   *shared
	mu    sync.Mutex
	live  bool // the event stream is open
	epoch uint64
	m     map[string]keptInspect
	size  int
}

const maxKeptBytes = 64 << 20

type keptInspect struct {
	version string
	body    []byte
}

// get is the answer kept for an inspect of container id at API version, nil when there is none.
func (k *keptInspects) get(id, version string) []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	if a, ok := k.m[id]; ok && a.version == version && k.live {
		return a.body
	}
	return nil
}

// mark is taken before an inspect is sent to the engine, to be given to keep with its answer.
func (k *keptInspects) mark() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.live {
		return 0
	}
	return k.epoch
}

// keep keeps body, the answer to an inspect of container id at version sent after mark was taken, if nothing
// about the engine's containers was forgotten meanwhile. body must not change afterwards.
func (k *keptInspects) keep(id, version string, body []byte, mark uint64) {
	if mark == 0 || reportsHealth(body) {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.live || k.epoch != mark {
		return
	}
	k.dropLocked(id)
	for other := range k.m { // over the budget: make room from this engine's answers, if it has any
		if k.set.keptBytes.Load()+int64(len(body)) <= maxKeptBytes {
			break
		}
		k.dropLocked(other)
	}
	if k.set.keptBytes.Load()+int64(len(body)) > maxKeptBytes {
		return
	}
	if k.m == nil {
		k.m = map[string]keptInspect{}
	}
	k.m[id] = keptInspect{version: version, body: body}
	k.size += len(body)
	k.set.keptBytes.Add(int64(len(body)))
}

// forget drops the answer kept for container id, and keeps none read across this moment.
func (k *keptInspects) forget(id string) {
	k.mu.Lock()
	k.epoch++
	k.dropLocked(id)
	k.mu.Unlock()
}

// reset drops every answer kept for the engine; live says whether its event stream is open now.
func (k *keptInspects) reset(live bool) {
	k.mu.Lock()
	k.epoch++
	k.live = live
	k.set.keptBytes.Add(-int64(k.size))
	k.m, k.size = nil, 0
	k.mu.Unlock()
}

// forgetOf drops the answers an event may have made stale: the container's own events except those of reads,
// and events of other objects that name a container (network connect, volume mount).
func (k *keptInspects) forgetOf(m events.Message) {
	switch {
	case m.Type == events.DaemonEventType && m.Action == events.ActionReload:
		k.reset(true)
	case m.Type == events.ContainerEventType:
		switch m.Action {
		case events.ActionTop, events.ActionResize, events.ActionExport, events.ActionAttach, events.ActionDetach,
			events.ActionCopy, events.ActionArchivePath:
		default:
			k.forget(m.Actor.ID)
		}
	case m.Actor.Attributes["container"] != "":
		k.forget(m.Actor.Attributes["container"])
	}
}

func (k *keptInspects) dropLocked(id string) {
	if a, ok := k.m[id]; ok {
		delete(k.m, id)
		k.size -= len(a.body)
		k.set.keptBytes.Add(-int64(len(a.body)))
	}
}

// reportsHealth tells whether an inspect answer has a health section in its state (a container with a health
// check, whose probes' log grows without an event).
func reportsHealth(body []byte) bool {
	return bytes.Contains(body, []byte(`"Health":{`))
}
