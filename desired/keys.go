package desired

import (
	"fmt"
	"slices"
	"strings"

	"github.com/docker/docker/errdefs"
)

// The kinds of record, as the directory each is kept in.
const (
	kindServices = "services"
	kindNodes    = "nodes"
	kindSecrets  = "secrets"
	kindConfigs  = "configs"
)

var kinds = []string{kindServices, kindNodes, kindSecrets, kindConfigs}

// noun is one record of a kind, in messages: "service".
func noun(kind string) string { return strings.TrimSuffix(kind, "s") }

// layout maps records to Consul keys: <prefix>/swarm/<kind>/<ID>.
type layout struct {
	dir string // "<prefix>/swarm/" ("swarm/" when the prefix is empty)
}

func newLayout(prefix string) layout {
	p := strings.Trim(prefix, "/")
	if p == "" {
		return layout{dir: "swarm/"}
	}
	return layout{dir: p + "/swarm/"}
}

func (l layout) key(kind, id string) string { return l.dir + kind + "/" + id }

// parse is key's inverse: ok is false for a key that is not a record's (another directory, a folder key, a
// nested key), which the store ignores.
func (l layout) parse(key string) (kind, id string, ok bool) {
	rest, found := strings.CutPrefix(key, l.dir)
	if !found {
		return "", "", false
	}
	kind, id, found = strings.Cut(rest, "/")
	if !found || !slices.Contains(kinds, kind) || validID(id) != nil {
		return "", "", false
	}
	return kind, id, true
}

// validID refuses IDs that cannot be one key of their own: empty, with a '/', or a dot segment (which HTTP
// paths would clean away). Both stores refuse them, so the contract is the same everywhere.
func validID(id string) error {
	if id == "" || id == "." || id == ".." || strings.Contains(id, "/") {
		return errdefs.InvalidParameter(fmt.Errorf("invalid ID %q: an ID must be non-empty, without '/', and not '.' or '..'", id))
	}
	return nil
}
