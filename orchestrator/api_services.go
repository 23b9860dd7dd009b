package orchestrator

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"
)

var validServiceName = regexp.MustCompile(`^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$`)

// Services lists the services that match f (id, name: prefixes; label; mode), by name; status fills
// ServiceStatus.
func (o *API) Services(f filters.Args, status bool) ([]swarm.Service, error) {
	if err := f.Validate(map[string]bool{"id": true, "name": true, "label": true, "mode": true}); err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	var matched []swarm.Service
	for _, s := range o.store.Services() {
		if serviceMatches(f, s) {
			matched = append(matched, s)
		}
	}
	var counts map[string]*swarm.ServiceStatus
	if status {
		scope := make(map[string]bool, len(matched))
		for _, s := range matched {
			scope[s.ID] = true
		}
		counts = o.statuses(scope)
	}
	out := []swarm.Service{}
	for _, s := range matched {
		out = append(out, o.apiService(s, counts))
	}
	return out, nil
}

func serviceMatches(f filters.Args, s swarm.Service) bool {
	return prefixMatch(f, "id", s.ID) && prefixMatch(f, "name", s.Spec.Name) && f.MatchKVList("label", s.Spec.Labels) &&
		f.ExactMatch("mode", modeName(s.Spec.Mode))
}

// prefixMatch: no values for the term, or one of them is a prefix of v.
func prefixMatch(f filters.Args, term, v string) bool {
	if !f.Contains(term) {
		return true
	}
	for _, p := range f.Get(term) {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	return false
}

func modeName(m swarm.ServiceMode) string {
	switch {
	case m.Global != nil:
		return "global"
	case m.ReplicatedJob != nil:
		return "replicated-job"
	case m.GlobalJob != nil:
		return "global-job"
	}
	return "replicated"
}

// Service finds a service by full ID, exact name or ID prefix.
func (o *API) Service(ref string, status bool) (swarm.Service, error) {
	s, err := o.findService(ref)
	if err != nil {
		return swarm.Service{}, err
	}
	var counts map[string]*swarm.ServiceStatus
	if status {
		counts = o.statuses(map[string]bool{s.ID: true})
	}
	return o.apiService(s, counts), nil
}

func (o *API) findService(ref string) (swarm.Service, error) {
	if s, ok := o.store.Service(ref); ok {
		return s, nil
	}
	all := o.store.Services()
	for _, s := range all {
		if s.Spec.Name == ref {
			return s, nil
		}
	}
	var found []swarm.Service
	for _, s := range all {
		if strings.HasPrefix(s.ID, ref) {
			found = append(found, s)
		}
	}
	if len(found) == 1 && ref != "" {
		return found[0], nil
	}
	if len(found) > 1 && ref != "" {
		return swarm.Service{}, errdefs.InvalidParameter(fmt.Errorf("service %s is ambiguous (%d matches found)", ref, len(found)))
	}
	return swarm.Service{}, errdefs.NotFound(fmt.Errorf("service %s not found", ref))
}

// apiService adds what is computed to a stored service: its endpoint and, with counts, its status.
func (o *API) apiService(s swarm.Service, counts map[string]*swarm.ServiceStatus) swarm.Service {
	stored := s.Endpoint
	s.Endpoint = swarm.Endpoint{Spec: endpointSpec(s.Spec), Ports: stored.Ports, VirtualIPs: stored.VirtualIPs}
	if s.Endpoint.Ports == nil {
		s.Endpoint.Ports = s.Endpoint.Spec.Ports
	}
	if counts != nil {
		st := counts[s.ID]
		if st == nil {
			st = &swarm.ServiceStatus{}
		}
		if s.Spec.Mode.Replicated != nil && s.Spec.Mode.Replicated.Replicas != nil {
			st.DesiredTasks = *s.Spec.Mode.Replicated.Replicas
		}
		s.ServiceStatus = st
	}
	return s
}

func endpointSpec(s swarm.ServiceSpec) swarm.EndpointSpec {
	if s.EndpointSpec == nil {
		return swarm.EndpointSpec{Mode: swarm.ResolutionModeVIP}
	}
	return *s.EndpointSpec
}

// CreateService validates spec, fills swarm's defaults and stores the service; the primary creates its tasks.
func (o *API) CreateService(ctx context.Context, spec swarm.ServiceSpec, registryAuth string) (swarm.ServiceCreateResponse, error) {
	o.writing.Lock()
	defer o.writing.Unlock()
	if err := o.validate(&spec, ""); err != nil {
		return swarm.ServiceCreateResponse{}, err
	}
	if err := o.checkNetworks(ctx, &spec); err != nil {
		return swarm.ServiceCreateResponse{}, err
	}
	now := time.Now().UTC()
	s := swarm.Service{ID: newID(), Spec: spec, Meta: swarm.Meta{CreatedAt: now, UpdatedAt: now}}
	ep, claimed, err := o.endpoint(ctx, s.ID, spec, swarm.Endpoint{})
	if err != nil {
		return swarm.ServiceCreateResponse{}, err
	}
	s.Endpoint = ep
	s, err = o.store.PutService(ctx, s)
	if err != nil {
		o.releaseVIPs(context.WithoutCancel(ctx), s.ID, claimed)
		return swarm.ServiceCreateResponse{}, err
	}
	o.specs.wrote(s)
	o.saveAuth(s.ID, registryAuth)
	o.publish(events.ServiceEventType, events.ActionCreate, s.ID, map[string]string{"name": spec.Name})
	o.Kick()
	return swarm.ServiceCreateResponse{ID: s.ID}, nil
}

// UpdateService replaces a service's spec (or, with Rollback "previous", goes back to the previous one), if
// version is its current version. A change of what tasks run starts a rolling update.
func (o *API) UpdateService(ctx context.Context, ref string, version uint64, spec swarm.ServiceSpec, opts swarm.ServiceUpdateOptions) (swarm.ServiceUpdateResponse, error) {
	o.writing.Lock()
	defer o.writing.Unlock()
	s, err := o.findService(ref)
	if err != nil {
		return swarm.ServiceUpdateResponse{}, err
	}
	if s.Version.Index != version && !o.specs.unchangedSince(s, version) {
		return swarm.ServiceUpdateResponse{}, errdefs.Conflict(fmt.Errorf("update out of sequence"))
	}
	rollback := opts.Rollback == "previous"
	if rollback {
		if s.PreviousSpec == nil {
			return swarm.ServiceUpdateResponse{}, errdefs.InvalidParameter(fmt.Errorf("service %s does not have a previous spec", s.Spec.Name))
		}
		spec = *s.PreviousSpec
	}
	if err := o.validate(&spec, s.ID); err != nil {
		return swarm.ServiceUpdateResponse{}, err
	}
	if err := o.checkNetworks(ctx, &spec); err != nil {
		return swarm.ServiceUpdateResponse{}, err
	}
	if spec.Name != s.Spec.Name {
		return swarm.ServiceUpdateResponse{}, errdefs.InvalidParameter(fmt.Errorf("renaming services is not supported"))
	}
	if modeName(spec.Mode) != modeName(s.Spec.Mode) {
		return swarm.ServiceUpdateResponse{}, errdefs.InvalidParameter(fmt.Errorf("service mode change is not allowed"))
	}
	prev, prevEndpoint := s.Spec, s.Endpoint
	ep, claimed, err := o.endpoint(ctx, s.ID, spec, prevEndpoint)
	if err != nil {
		return swarm.ServiceUpdateResponse{}, err
	}
	changed := specHash(prev) != specHash(spec)
	s.PreviousSpec, s.Spec, s.Endpoint, s.UpdatedAt = &prev, spec, ep, time.Now().UTC()
	if changed {
		s.UpdateStatus = startedStatus(rollback, s.UpdatedAt)
	}
	written, err := o.store.PutService(ctx, s)
	if err != nil {
		o.releaseVIPs(context.WithoutCancel(ctx), s.ID, claimed)
		return swarm.ServiceUpdateResponse{}, err
	}
	o.releaseVIPs(ctx, s.ID, droppedVIPs(prevEndpoint.VirtualIPs, ep.VirtualIPs))
	o.specs.wrote(written)
	if opts.EncodedRegistryAuth != "" {
		o.saveAuth(s.ID, opts.EncodedRegistryAuth)
	}
	o.publish(events.ServiceEventType, events.ActionUpdate, s.ID, map[string]string{"name": spec.Name})
	o.Kick()
	return swarm.ServiceUpdateResponse{}, nil
}

func startedStatus(rollback bool, at time.Time) *swarm.UpdateStatus {
	if rollback {
		return &swarm.UpdateStatus{State: swarm.UpdateStateRollbackStarted, StartedAt: &at, Message: "manually requested rollback"}
	}
	return &swarm.UpdateStatus{State: swarm.UpdateStateUpdating, StartedAt: &at, Message: "update in progress"}
}

// RemoveService deletes the service, then its tasks (the primary also removes any it finds later).
func (o *API) RemoveService(ctx context.Context, ref string) error {
	s, err := o.findService(ref)
	if err != nil {
		return err
	}
	if err := o.store.DeleteService(ctx, s.ID); err != nil {
		return err
	}
	o.forgetRecord(ctx, s.ID)
	o.releaseVIPs(ctx, s.ID, s.Endpoint.VirtualIPs)
	o.publish(events.ServiceEventType, events.ActionRemove, s.ID, map[string]string{"name": s.Spec.Name})
	o.forgetRollout(s.ID)
	o.specs.forget(s.ID)
	o.Kick()
	return nil
}

// specVersions are, for the services whose spec this manager last wrote in its current term as primary, the
// version that write made and the spec it wrote. The primary's own writes of a service's UpdateStatus move its
// version too: an update made from a version read before such a write (the CLI reads the service, then may
// spend seconds resolving the image's digest) changes nothing its author did not see, so it is taken, not
// refused as out of sequence. The spec must still be the one written (another manager, primary for a while,
// may have changed it); a manager that knows nothing of the last spec write refuses any stale version, as
// swarm mode does.
type specVersions struct{ m sync.Map } // service ID -> specWrite

type specWrite struct {
	index uint64
	sum   [sha256.Size]byte
}

func specSum(spec swarm.ServiceSpec) [sha256.Size]byte {
	b, _ := json.Marshal(spec)
	return sha256.Sum256(b)
}

func (v *specVersions) wrote(s swarm.Service) {
	v.m.Store(s.ID, specWrite{index: s.Version.Index, sum: specSum(s.Spec)})
}

func (v *specVersions) forget(id string) { v.m.Delete(id) }

// clear forgets every write (a new term: another primary may have written since).
func (v *specVersions) clear() { v.m.Clear() }

// unchangedSince tells whether cur, the stored service, has the spec it had at version seen (an older one).
func (v *specVersions) unchangedSince(cur swarm.Service, seen uint64) bool {
	w, ok := v.m.Load(cur.ID)
	return ok && w.(specWrite).index <= seen && seen < cur.Version.Index && w.(specWrite).sum == specSum(cur.Spec)
}
