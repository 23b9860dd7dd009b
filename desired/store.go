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
	// Secrets lists every secret, sorted by ID. The records hold what the caller gave: a secret's Data is
	// sealed by the caller before it is put, and the store never sees it in clear.
	Secrets() []swarm.Secret
	// Secret returns the secret with exactly this ID.
	Secret(id string) (swarm.Secret, bool)
	// PutSecret writes s as PutService writes a service: a check-and-set on s.Version.Index, the same IDs
	// refused.
	PutSecret(ctx context.Context, s swarm.Secret) (swarm.Secret, error)
	// DeleteSecret removes the secret; a missing one is an errdefs.NotFound.
	DeleteSecret(ctx context.Context, id string) error
	// Configs lists every config, sorted by ID.
	Configs() []swarm.Config
	// Config returns the config with exactly this ID.
	Config(id string) (swarm.Config, bool)
	// PutConfig writes c as PutService writes a service: a check-and-set on c.Version.Index, the same IDs
	// refused.
	PutConfig(ctx context.Context, c swarm.Config) (swarm.Config, error)
	// DeleteConfig removes the config; a missing one is an errdefs.NotFound.
	DeleteConfig(ctx context.Context, id string) error
	// Changed is signalled (coalesced, never blocking the writer) after any change this Store sees, its own
	// writes and other managers' alike.
	Changed() <-chan struct{}
}

// ErrOutOfSequence is the conflict of a write made from a stale version, in the engine's words.
var ErrOutOfSequence = errdefs.Conflict(fmt.Errorf("update out of sequence"))

func notFound(kind, id string) error {
	return errdefs.NotFound(fmt.Errorf("%s %s not found", kind, id))
}

// orMissing is the error of a delete (err, and whether it found the record) for the kinds whose missing
// record is an errdefs.NotFound.
func orMissing(err error, found bool, kind, id string) error {
	if err == nil && !found {
		return notFound(noun(kind), id)
	}
	return err
}
