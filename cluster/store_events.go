package cluster

import (
	"context"
	"strings"

	"github.com/docker/docker/api/types/events"
)

// onEvent updates the cache for one of the engine's container events: a destroy drops the container; an event
// that only reads it changes nothing; any other marks it for a re-read, unless the cache already shows it or a
// create through this manager has it in hand.
func (s *store) onEvent(ctx context.Context, m events.Message) {
	id := m.Actor.ID
	switch m.Action {
	case events.ActionTop, events.ActionResize, events.ActionExport, events.ActionAttach, events.ActionDetach,
		events.ActionExtractToDir, events.ActionCopy, events.ActionArchivePath, events.ActionExecCreate,
		events.ActionExecDetach, events.ActionExecDie:
		return
	case events.ActionDestroy:
		s.forget(id)
		return
	}
	if strings.HasPrefix(string(m.Action), "exec_start:") || alreadyCached(s.get(id), m) || s.createdHere(m) {
		return
	}
	s.rereads.mark(ctx, id, &m)
}

// createdHere tells whether m reports the create of a container that a create through this manager has in
// flight (by its swarm ID): that create caches the container itself, or makes sure it goes if its outcome is
// unknown (orphans.go), so the event needs no re-read.
func (s *store) createdHere(m events.Message) bool {
	swarmID := m.Actor.Attributes[LabelSwarmID]
	return m.Action == events.ActionCreate && swarmID != "" && s.orphans.inFlight(swarmID)
}
