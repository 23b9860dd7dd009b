package secrets

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// CreateConfig stores a new config, in clear, and returns its ID. The name is required and unique among
// configs; data holds 1 byte to 1000 KiB; templating is refused.
func (a *API) CreateConfig(ctx context.Context, spec swarm.ConfigSpec) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	taken := slices.ContainsFunc(a.cfg.Store.Configs(), func(c swarm.Config) bool { return c.Spec.Name == spec.Name })
	if err := checkNew("config", spec.Annotations, spec.Data, maxConfigSize, spec.Templating, taken); err != nil {
		return "", err
	}
	now := time.Now().UTC()
	c := swarm.Config{ID: newID(), Meta: swarm.Meta{CreatedAt: now, UpdatedAt: now},
		Spec: swarm.ConfigSpec{Annotations: swarm.Annotations{Name: spec.Name, Labels: maps.Clone(spec.Labels)}, Data: slices.Clone(spec.Data)}}
	if _, err := a.cfg.Store.PutConfig(ctx, c); err != nil {
		return "", err
	}
	return c.ID, nil
}

// Config returns the config ref names (full ID, exact name or unique ID prefix), with its data.
func (a *API) Config(ref string) (swarm.Config, error) {
	return find("config", ref, a.cfg.Store.Configs(), configMeta)
}

// Configs lists the configs that match f (id, name: prefixes; names: exact; label), by name, with their data.
func (a *API) Configs(f filters.Args) ([]swarm.Config, error) {
	return list(f, a.cfg.Store.Configs(), configMeta)
}

// UpdateConfig changes a config's labels, if version is its current version (else an errdefs.Conflict,
// "update out of sequence"). As in swarm, nothing else may change: the name must be the same, and data, if
// given (clients send back what they inspected), must be what the config holds.
func (a *API) UpdateConfig(ctx context.Context, ref string, version uint64, spec swarm.ConfigSpec) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, err := find("config", ref, a.cfg.Store.Configs(), configMeta)
	if err != nil {
		return err
	}
	if c.Version.Index != version {
		return errOutOfSequence
	}
	if spec.Name != c.Spec.Name || spec.Templating != nil || (len(spec.Data) > 0 && !bytes.Equal(spec.Data, c.Spec.Data)) {
		return errLabelsOnly
	}
	c.Spec.Labels = maps.Clone(spec.Labels)
	c.UpdatedAt = time.Now().UTC()
	_, err = a.cfg.Store.PutConfig(ctx, c)
	return err
}

// RemoveConfig deletes a config that no service uses; one in use is an errdefs.Conflict naming the services.
func (a *API) RemoveConfig(ctx context.Context, ref string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, err := find("config", ref, a.cfg.Store.Configs(), configMeta)
	if err != nil {
		return err
	}
	users := usedBy(a.cfg.Store.Services(), func(cs *swarm.ContainerSpec) bool {
		return slices.ContainsFunc(cs.Configs, func(r *swarm.ConfigReference) bool {
			return r != nil && refersTo(r.ConfigID, r.ConfigName, c.ID, c.Spec.Name)
		})
	})
	if len(users) > 0 {
		return errInUse("config", c.Spec.Name, users)
	}
	return a.cfg.Store.DeleteConfig(ctx, c.ID)
}
