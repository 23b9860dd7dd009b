package orchestrator

import (
	"fmt"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"
)

// unsupported is a part of a service spec this cluster does not carry out, with the compose key that asks for it.
type unsupported struct {
	set     func(*swarm.ServiceSpec) bool
	field   string // the API's name
	compose string // the compose file's key ("" when compose has none)
}

// notHonoured lists what a service spec may ask for that no task would get; the rest of the spec is carried
// out (body.go, the scheduler, the reconciler, endpoint.go). A spec asking for any of these is refused
// rather than run without it.
var notHonoured = []unsupported{
	{func(s *swarm.ServiceSpec) bool {
		return s.TaskTemplate.Runtime != "" && s.TaskTemplate.Runtime != swarm.RuntimeContainer
	},
		"TaskTemplate.Runtime", ""},
	{func(s *swarm.ServiceSpec) bool {
		return s.TaskTemplate.PluginSpec != nil || s.TaskTemplate.NetworkAttachmentSpec != nil
	}, "TaskTemplate.PluginSpec", ""},
	{func(s *swarm.ServiceSpec) bool {
		return s.TaskTemplate.Placement != nil && s.TaskTemplate.Placement.MaxReplicas > 0
	},
		"TaskTemplate.Placement.MaxReplicas", "deploy.placement.max_replicas_per_node"},
	{func(s *swarm.ServiceSpec) bool {
		r := s.TaskTemplate.Resources
		return r != nil && r.Reservations != nil && len(r.Reservations.GenericResources) > 0
	}, "TaskTemplate.Resources.Reservations.GenericResources", "deploy.resources.reservations.generic_resources"},
	{func(s *swarm.ServiceSpec) bool {
		p := s.TaskTemplate.ContainerSpec.Privileges
		return p != nil && p.CredentialSpec != nil
	}, "TaskTemplate.ContainerSpec.Privileges.CredentialSpec", "credential_spec"},
	{func(s *swarm.ServiceSpec) bool {
		p := s.TaskTemplate.ContainerSpec.Privileges
		return p != nil && p.Seccomp != nil && p.Seccomp.Mode == swarm.SeccompModeCustom
	}, "TaskTemplate.ContainerSpec.Privileges.Seccomp (custom profile)", ""},
	{func(s *swarm.ServiceSpec) bool {
		i := s.TaskTemplate.ContainerSpec.Isolation
		return i != "" && !i.IsDefault()
	}, "TaskTemplate.ContainerSpec.Isolation", "isolation"},
	{func(s *swarm.ServiceSpec) bool {
		for _, n := range s.TaskTemplate.Networks {
			if len(n.DriverOpts) > 0 {
				return true
			}
		}
		return false
	}, "TaskTemplate.Networks[].DriverOpts", "networks.<name>.driver_opts"},
}

// checkHonoured refuses a spec that asks for something this cluster does not do, naming it (and its compose
// key, for `docker stack deploy` users), so nothing is silently left out.
func checkHonoured(spec *swarm.ServiceSpec) error {
	for _, u := range notHonoured {
		if !u.set(spec) {
			continue
		}
		what := u.field
		if u.compose != "" {
			what = fmt.Sprintf("%s (compose: %s)", u.field, u.compose)
		}
		return errdefs.InvalidParameter(fmt.Errorf("service %s: %s is not supported by this cluster: remove it from the service's definition",
			spec.Name, what))
	}
	return nil
}

// securityOpts are the engine's security options for what a service's Privileges ask (checkHonoured refused
// the rest).
func securityOpts(p *swarm.Privileges) []string {
	if p == nil {
		return nil
	}
	var out []string
	if p.NoNewPrivileges {
		out = append(out, "no-new-privileges=true")
	}
	if c := p.SELinuxContext; c != nil {
		if c.Disable {
			out = append(out, "label=disable")
		}
		for _, kv := range [][2]string{{"user", c.User}, {"role", c.Role}, {"type", c.Type}, {"level", c.Level}} {
			if kv[1] != "" {
				out = append(out, "label="+kv[0]+":"+kv[1])
			}
		}
	}
	if p.Seccomp != nil && p.Seccomp.Mode == swarm.SeccompModeUnconfined {
		out = append(out, "seccomp=unconfined")
	}
	if p.AppArmor != nil && p.AppArmor.Mode == swarm.AppArmorModeDisabled {
		out = append(out, "apparmor=unconfined")
	}
	return out
}
