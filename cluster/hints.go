package cluster

import "sync"

// idHints remembers on which engine a full container ID was last found, so a call by ID (the docker CLI's
// start, wait, logs after a run) does not ask every engine. A hint is only a guess: the engine is asked,
// and a wrong or stale hint falls back to the full search. The map is emptied when it grows past maxHints, so
// containers that come and go never make it grow without bound.
type idHints struct {
	mu sync.RWMutex
	m  map[string]*Engine
}

const maxHints = 1 << 16

func (h *idHints) get(id string) *Engine {
	if len(id) != 64 {
		return nil
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.m[id]
}

func (h *idHints) put(id string, e *Engine) {
	if len(id) != 64 {
		return
	}
	h.mu.Lock()
	if h.m == nil || len(h.m) >= maxHints {
		h.m = make(map[string]*Engine)
	}
	h.m[id] = e
	h.mu.Unlock()
}
