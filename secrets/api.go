package secrets

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"
)

// Swarm's limits on what one secret or config holds.
const (
	maxSecretSize = 500 * 1024  // the Engine API's MaxSecretSize
	maxConfigSize = 1000 * 1024 // the Engine API's MaxConfigSize
	maxNameLen    = 64
)

var validName = regexp.MustCompile(`^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$`)

// ErrNoKey refuses secrets on a manager started without the managers' key (an errdefs.Unavailable: the
// request is fine, this manager cannot serve it).
var ErrNoKey = errdefs.Unavailable(errors.New("this manager has no key to keep secrets: start every manager " +
	"with `swarm manage --secrets-key FILE` (the same file on every manager)"))

var (
	errOutOfSequence = errdefs.Conflict(errors.New("update out of sequence"))
	errLabelsOnly    = errdefs.InvalidParameter(errors.New("only updates to Labels are allowed"))
)

// Store is where secrets and configs are kept (desired.Store implements it). Put* is a check-and-set on the
// record's Version.Index (0 creates) returning the record with its new version; a stale version is an
// errdefs.Conflict; Delete* of a missing one is errdefs.NotFound.
type Store interface {
	// Secrets lists every secret, its data sealed.
	Secrets() []swarm.Secret
	// Secret returns the secret with exactly this ID.
	Secret(id string) (swarm.Secret, bool)
	// PutSecret writes s if the stored version is s.Version.Index (0: s is new).
	PutSecret(ctx context.Context, s swarm.Secret) (swarm.Secret, error)
	// DeleteSecret removes a secret; a missing one is an errdefs.NotFound.
	DeleteSecret(ctx context.Context, id string) error
	// Configs lists every config.
	Configs() []swarm.Config
	// Config returns the config with exactly this ID.
	Config(id string) (swarm.Config, bool)
	// PutConfig writes c as PutSecret writes a secret.
	PutConfig(ctx context.Context, c swarm.Config) (swarm.Config, error)
	// DeleteConfig removes a config; a missing one is an errdefs.NotFound.
	DeleteConfig(ctx context.Context, id string) error
	// Services lists the services, to tell which use a secret or config.
	Services() []swarm.Service
}

// Config is what an API is made of.
type Config struct {
	Store Store
	// Key seals secrets. Nil: creating a secret, and giving one to a task, fail with ErrNoKey; configs work
	// without it.
	Key *Key
}

// API answers /secrets and /configs and gives tasks their files. Its methods are safe for concurrent use.
type API struct {
	cfg Config
	// mu makes each write (a name check and its put, an in-use check and its delete) one step on this
	// manager; writes from clients of every manager reach the primary, so names stay unique.
	mu sync.Mutex
}

// New returns the API over cfg.Store.
func New(cfg Config) *API {
	return &API{cfg: cfg}
}

// meta is what lookups and filters read of a secret or a config.
type meta struct {
	id, name string
	labels   map[string]string
}

func secretMeta(s swarm.Secret) meta { return meta{s.ID, s.Spec.Name, s.Spec.Labels} }
func configMeta(c swarm.Config) meta { return meta{c.ID, c.Spec.Name, c.Spec.Labels} }

// find resolves ref among all by full ID, then exact name, then unique ID prefix. An ambiguous prefix is an
// errdefs.InvalidParameter (as for services); no match an errdefs.NotFound.
func find[T any](kind, ref string, all []T, m func(T) meta) (T, error) {
	var zero T
	if ref == "" {
		return zero, errdefs.NotFound(fmt.Errorf("%s %s not found", kind, ref))
	}
	if i := slices.IndexFunc(all, func(x T) bool { return m(x).id == ref }); i >= 0 {
		return all[i], nil
	}
	if i := slices.IndexFunc(all, func(x T) bool { return m(x).name == ref }); i >= 0 {
		return all[i], nil
	}
	var found []T
	for _, x := range all {
		if strings.HasPrefix(m(x).id, ref) {
			found = append(found, x)
		}
	}
	switch len(found) {
	case 0:
		return zero, errdefs.NotFound(fmt.Errorf("%s %s not found", kind, ref))
	case 1:
		return found[0], nil
	}
	return zero, errdefs.InvalidParameter(fmt.Errorf("%s %s is ambiguous (%d matches found)", kind, ref, len(found)))
}

// checkNew validates what creating a secret or config is given; taken is whether the name is in use.
func checkNew(kind string, a swarm.Annotations, data []byte, maxSize int, templating *swarm.Driver, taken bool) error {
	if err := checkName(a.Name); err != nil {
		return err
	}
	if len(data) == 0 || len(data) > maxSize {
		return errdefs.InvalidParameter(fmt.Errorf("invalid %s data: %d bytes; a %s holds 1 byte to %d KiB",
			kind, len(data), kind, maxSize/1024))
	}
	if templating != nil {
		return errdefs.InvalidParameter(fmt.Errorf("templating of %ss is not supported by this cluster: give the data as it is", kind))
	}
	if taken {
		return errdefs.Conflict(fmt.Errorf("name conflicts with an existing object: %s %s already exists", kind, a.Name))
	}
	return nil
}

func checkName(name string) error {
	if name == "" {
		return errdefs.InvalidParameter(fmt.Errorf("invalid name: a name is required"))
	}
	if !validName.MatchString(name) || len(name) > maxNameLen {
		return errdefs.InvalidParameter(fmt.Errorf("invalid name %q: letters, digits, '-', '_' and '.' only, at most %d characters, "+
			"starting and ending with a letter or digit", name, maxNameLen))
	}
	return nil
}

// usedBy lists, sorted, the names of the services whose container spec uses (by uses) a secret or config.
func usedBy(services []swarm.Service, uses func(*swarm.ContainerSpec) bool) []string {
	var names []string
	for _, s := range services {
		if cs := s.Spec.TaskTemplate.ContainerSpec; cs != nil && uses(cs) {
			names = append(names, s.Spec.Name)
		}
	}
	slices.Sort(names)
	return names
}

// refersTo tells whether a reference (refID, refName) names the record (id, name): by ID, or by name when it
// has no ID (a spec stored before its references were filled).
func refersTo(refID, refName, id, name string) bool {
	return refID == id || refID == "" && refName == name
}

func errInUse(kind, name string, services []string) error {
	what := "service"
	if len(services) > 1 {
		what = "services"
	}
	return errdefs.Conflict(fmt.Errorf("%s '%s' is in use by the following %s: %s", kind, name, what, strings.Join(services, ", ")))
}

// newID returns 25 random lowercase base-36 characters, as swarm's IDs.
func newID() string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	const limit = 256 - 256%len(digits) // bytes at or above it would favour the first digits
	id := make([]byte, 0, 25)
	buf := make([]byte, 32)
	for len(id) < cap(id) {
		rand.Read(buf) // never fails (crypto/rand's contract since Go 1.24)
		for _, b := range buf {
			if int(b) < limit && len(id) < cap(id) {
				id = append(id, digits[int(b)%len(digits)])
			}
		}
	}
	return string(id)
}
