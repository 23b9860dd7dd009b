package secrets

import (
	"context"
	"crypto/subtle"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"
)

// CreateSecret stores a new secret, its data sealed with the managers' key, and returns its ID. The name is
// required and unique among secrets; data holds 1 byte to 500 KiB; external drivers and templating are
// refused; without a key it fails with ErrNoKey.
func (a *API) CreateSecret(ctx context.Context, spec swarm.SecretSpec) (string, error) {
	if spec.Driver != nil {
		return "", errdefs.InvalidParameter(fmt.Errorf("secret drivers (external secret stores) are not supported by this cluster: give the secret's data"))
	}
	if a.cfg.Key == nil {
		return "", ErrNoKey
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	taken := slices.ContainsFunc(a.cfg.Store.Secrets(), func(s swarm.Secret) bool { return s.Spec.Name == spec.Name })
	if err := checkNew("secret", spec.Annotations, spec.Data, maxSecretSize, spec.Templating, taken); err != nil {
		return "", err
	}
	sealed, err := a.cfg.Key.Seal(spec.Data)
	if err != nil {
		return "", fmt.Errorf("sealing secret %s: %w", spec.Name, err)
	}
	now := time.Now().UTC()
	s := swarm.Secret{ID: newID(), Meta: swarm.Meta{CreatedAt: now, UpdatedAt: now},
		Spec: swarm.SecretSpec{Annotations: swarm.Annotations{Name: spec.Name, Labels: maps.Clone(spec.Labels)}, Data: sealed}}
	if _, err := a.cfg.Store.PutSecret(ctx, s); err != nil {
		return "", err
	}
	return s.ID, nil
}

// Secret returns the secret ref names (full ID, exact name or unique ID prefix), without its data.
func (a *API) Secret(ref string) (swarm.Secret, error) {
	s, err := find("secret", ref, a.cfg.Store.Secrets(), secretMeta)
	s.Spec.Data = nil
	return s, err
}

// Secrets lists the secrets that match f (id, name: prefixes; names: exact; label), by name, without data.
func (a *API) Secrets(f filters.Args) ([]swarm.Secret, error) {
	out, err := list(f, a.cfg.Store.Secrets(), secretMeta)
	for i := range out {
		out[i].Spec.Data = nil
	}
	return out, err
}

// UpdateSecret changes a secret's labels, if version is its current version (else an errdefs.Conflict,
// "update out of sequence"). As in swarm, nothing else may change: the name must be the same, and data, if
// given (`docker stack deploy` sends it again), must be what the secret holds.
func (a *API) UpdateSecret(ctx context.Context, ref string, version uint64, spec swarm.SecretSpec) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, err := find("secret", ref, a.cfg.Store.Secrets(), secretMeta)
	if err != nil {
		return err
	}
	if s.Version.Index != version {
		return errOutOfSequence
	}
	if spec.Name != s.Spec.Name || spec.Driver != nil || spec.Templating != nil {
		return errLabelsOnly
	}
	if len(spec.Data) > 0 {
		if err := a.sameSecretData(s, spec.Data); err != nil {
			return err
		}
	}
	s.Spec.Labels = maps.Clone(spec.Labels)
	s.UpdatedAt = time.Now().UTC()
	_, err = a.cfg.Store.PutSecret(ctx, s)
	return err
}

// sameSecretData: nil if data is what s holds.
func (a *API) sameSecretData(s swarm.Secret, data []byte) error {
	if a.cfg.Key == nil {
		return ErrNoKey
	}
	plain, err := a.cfg.Key.Open(s.Spec.Data)
	if err != nil {
		return errdefs.System(fmt.Errorf("secret %s: %w", s.Spec.Name, err))
	}
	if subtle.ConstantTimeCompare(plain, data) != 1 {
		return errLabelsOnly
	}
	return nil
}

// RemoveSecret deletes a secret that no service uses; one in use is an errdefs.Conflict naming the services.
func (a *API) RemoveSecret(ctx context.Context, ref string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, err := find("secret", ref, a.cfg.Store.Secrets(), secretMeta)
	if err != nil {
		return err
	}
	users := usedBy(a.cfg.Store.Services(), func(cs *swarm.ContainerSpec) bool {
		return slices.ContainsFunc(cs.Secrets, func(r *swarm.SecretReference) bool {
			return r != nil && refersTo(r.SecretID, r.SecretName, s.ID, s.Spec.Name)
		})
	})
	if len(users) > 0 {
		return errInUse("secret", s.Spec.Name, users)
	}
	return a.cfg.Store.DeleteSecret(ctx, s.ID)
}
