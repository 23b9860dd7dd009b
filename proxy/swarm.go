package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/errdefs"
)

// errNotSwarmMode answers docker swarm init, join, leave, update and unlock: this cluster is not swarm mode's,
// its engines join it through discovery.
var errNotSwarmMode = errdefs.Unavailable(errors.New(`this is a swarm manager over plain engines: engines join ` +
	`the cluster with "swarm join --advertise=IP:2375 consul://CONSUL:8500/PREFIX" beside each engine; ` +
	`docker swarm init/join/leave do not apply`))

func notSwarmMode(w http.ResponseWriter, _ *http.Request) { writeError(w, errNotSwarmMode) }

// The helpers the swarm-mode handlers share.

// queryFilters are the request's ?filters=, JSON as the engine takes them.
func queryFilters(q url.Values) (filters.Args, error) {
	f, err := filters.FromJSON(q.Get("filters"))
	if err != nil {
		return f, badRequest("invalid filters: %w", err)
	}
	return f, nil
}

// queryVersion is an update's ?version=N: the Version.Index of the object (what: "service", "node") as the
// client last read it.
func queryVersion(q url.Values, what string) (uint64, error) {
	raw := q.Get("version")
	if raw == "" {
		return 0, errdefs.InvalidParameter(fmt.Errorf("missing %s version: send ?version=N, the %s's Version.Index as last read", what, what))
	}
	v, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return 0, errdefs.InvalidParameter(fmt.Errorf("invalid %s version %q: the %s's Version.Index, a whole number, is expected", what, raw, what))
	}
	return v, nil
}

// queryStatus is ?status=true|false (absent: false).
func queryStatus(q url.Values) (bool, error) {
	raw := q.Get("status")
	if raw == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(raw)
	if err != nil {
		return false, errdefs.InvalidParameter(fmt.Errorf("invalid value for status: %q: true or false is expected", raw))
	}
	return b, nil
}

// decodeBody decodes a JSON request body into v; a malformed one is an InvalidParameter saying why.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxJSONBody))
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errdefs.InvalidParameter(errors.New("invalid JSON: got EOF while reading request body"))
		}
		return badRequest("invalid JSON: %w", err)
	}
	if dec.More() {
		return errdefs.InvalidParameter(errors.New("invalid JSON: unexpected content after the document"))
	}
	return nil
}
