package desired

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"
)

// Store is the desired state. Reads answer from memory and never block on the backend; writes go to the
// backend first and are visible to reads of this Store when they return. All methods are safe for concurrent
// use; records handed out are copies.
type Store interface {
	// Services lists every service, sorted by ID.
	Services() []swarm.Service
	// Service returns the service with exactly this ID.
	Service(id string) (swarm.Service, bool)
	// PutService writes s if the stored record's version is s.Version.Index (0: s must not exist yet) and
	// returns it with its new version; a mismatch is an errdefs.Conflict. An ID must be non-empty, without
	// '/', and not '.' or '..' (each record is a key of its own): others are an errdefs.InvalidParameter.
	PutService(ctx context.Context, s swarm.Service) (swarm.Service, error)
	// DeleteService removes the service; a missing one is an errdefs.NotFound.
	DeleteService(ctx context.Context, id string) error
	// Nodes lists the node records, sorted by ID.
	Nodes() []swarm.Node
	// Node returns the record of the node with this ID.
	Node(id string) (swarm.Node, bool)
	// PutNode writes n as PutService writes a service; of a node only ID, Spec, CreatedAt and UpdatedAt are
	// kept (and returned).
	PutNode(ctx context.Context, n swarm.Node) (swarm.Node, error)
	// DeleteNode removes a node's record; a missing one is not an error.
	DeleteNode(ctx context.Context, id string) error
	// Changed is signalled (coalesced, never blocking the writer) after any change this Store sees, its own
	// writes and other managers' alike.
	Changed() <-chan struct{}
}

// ErrOutOfSequence is the conflict of a write made from a stale version, in the engine's words.
var ErrOutOfSequence = errdefs.Conflict(fmt.Errorf("update out of sequence"))

func notFound(kind, id string) error {
	return errdefs.NotFound(fmt.Errorf("%s %s not found", kind, id))
}
