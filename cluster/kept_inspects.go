package cluster

import (
	"bytes"
	"sync"
)

// Kept inspect answers. A container's inspect through the manager is answered again from the engine's last
// answer while nothing can have changed the container since it was read:
//   - the engine's event stream was open from before the read until now (every change is reported on it);
//   - no event about the container (or naming it: network connect, volume mount) arrived since the read;
//   - no call through the manager re-read it since (calls that change a container re-read it before they
//     answer, so a client acting on an answer never sees the inspect from before its call);
//   - the container reports no health probes (their log changes without an event).
//
// A read that overlaps anything forgotten on its engine is not kept. Answers are kept per API version, up to
// maxKeptBytes for all engines together; the oldest-kept are not tracked: an engine over its share drops
// arbitrary ones.
const maxKeptBytes = 64 << 20

type keptInspects struct {
	mu    sync.Mutex
	live  bool   // the event stream is open
	epoch uint64 // moves at every forget and whenever the stream opens or breaks
	m     map[string]keptInspect
	size  int
}

type keptInspect struct {
	version string
	body    []byte
}

// KeptInspect is the answer kept for an inspect of container id at API version (as NegotiatedVersion gives
// it), nil when there is none.
func (e *Engine) KeptInspect(id, version string) []byte {
	k := &e.kept
	k.mu.Lock()
	defer k.mu.Unlock()
	if a, ok := k.m[id]; ok && a.version == version && k.live {
		return a.body
	}
	return nil
}

// InspectMark is taken before an inspect is sent to the engine, to be given to KeepInspect with its answer.
func (e *Engine) InspectMark() uint64 {
	k := &e.kept
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.live {
		return 0
	}
	return k.epoch
}

// KeepInspect keeps body, the answer to an inspect of container id at version sent after mark was taken, if
// nothing about the engine's containers was forgotten meanwhile. body must not change afterwards.
func (e *Engine) KeepInspect(id, version string, body []byte, mark uint64) {
	if mark == 0 || reportsHealth(body) {
		return
	}
	k := &e.kept
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.live || k.epoch != mark {
		return
	}
	k.dropLocked(e.set, id)
	for other := range k.m { // over the budget: make room from this engine's answers, if it has any
		if e.set.keptBytes.Load()+int64(len(body)) <= maxKeptBytes {
			break
		}
		k.dropLocked(e.set, other)
	}
	if e.set.keptBytes.Load()+int64(len(body)) > maxKeptBytes {
		return
	}
	if k.m == nil {
		k.m = map[string]keptInspect{}
	}
	k.m[id] = keptInspect{version: version, body: body}
	k.size += len(body)
	e.set.keptBytes.Add(int64(len(body)))
}

// forgetInspect drops the answer kept for container id, and keeps none read across this moment.
func (e *Engine) forgetInspect(id string) {
	k := &e.kept
	k.mu.Lock()
	k.epoch++
	k.dropLocked(e.set, id)
	k.mu.Unlock()
}

// forgetInspects drops every answer kept for the engine; live says whether its event stream is open now.
func (e *Engine) forgetInspects(live bool) {
	k := &e.kept
	k.mu.Lock()
	k.epoch++
	k.live = live
	e.set.keptBytes.Add(-int64(k.size))
	k.m, k.size = nil, 0
	k.mu.Unlock()
}

func (k *keptInspects) dropLocked(set *engineSettings, id string) {
	if a, ok := k.m[id]; ok {
		delete(k.m, id)
		k.size -= len(a.body)
		set.keptBytes.Add(-int64(len(a.body)))
	}
}

// reportsHealth tells whether an inspect answer has a health section in its state (a container with a health
// check, whose probes' log grows without an event).
func reportsHealth(body []byte) bool {
	return bytes.Contains(body, []byte(`"Health":{`))
}
