package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/system"
)

// engineSpec is what an engine said it is when it was last validated: never changed once stored.
type engineSpec struct {
	id, name string
	info     system.Info
	version  types.Version
	labels   map[string]string // the daemon's labels and the built-in ones constraints read
}

// errNotEngine is returned when the address answers but is not a Docker engine we can schedule on.
var errNotEngine = errors.New("not a Docker engine")

// validate reads the engine's specs (/info, /version), negotiates the API version and stores the spec. It
// refuses a swarm manager posing as an engine and an engine reporting no CPUs or memory. It tells whether the
// engine's name or ID changed.
func (c *conn) validate(ctx context.Context) (renamed bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c.client.NegotiateAPIVersion(ctx)
	info, err := c.client.Info(ctx)
	if err != nil {
		return false, err
	}
	ver, err := c.client.ServerVersion(ctx)
	if err != nil {
		return false, err
	}
	if strings.HasPrefix(info.ServerVersion, "swarm/") || strings.HasPrefix(ver.Version, "swarm/") {
		return false, fmt.Errorf("%w: %s is a swarm manager; point discovery at engines, not managers", errNotEngine, c.addr)
	}
	if info.NCPU == 0 || info.MemTotal == 0 {
		return false, fmt.Errorf("%w: %s reports %d CPUs and %d bytes of memory; make sure it is a Docker Engine, not a Swarm manager",
			errNotEngine, c.addr, info.NCPU, info.MemTotal)
	}
	labels, err := engineLabels(info.Labels)
	if err != nil {
		return false, fmt.Errorf("engine %s: %w", c.addr, err)
	}
	labels["storagedriver"] = info.Driver
	labels["kernelversion"] = info.KernelVersion
	labels["operatingsystem"] = info.OperatingSystem
	labels["ostype"] = info.OSType
	old := c.spec.Swap(&engineSpec{id: info.ID, name: info.Name, info: info, version: ver, labels: labels})
	return old == nil || old.id != info.ID || old.name != info.Name, nil
}

var builtinLabels = map[string]bool{"storagedriver": true, "kernelversion": true, "operatingsystem": true, "ostype": true}

// engineLabels parses the daemon's --label k=v list. The built-in keys cannot be overridden; "node" is ignored
// because constraints use it for the engine's name.
func engineLabels(raw []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range raw {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid engine label %q: key=value expected", kv)
		}
		if k == "node" || builtinLabels[k] {
			continue
		}
		out[k] = v
	}
	return out, nil
}
