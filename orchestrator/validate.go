package orchestrator

import (
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/namesgenerator"

	"swarm/scheduler"
)

// Swarm's defaults, as `docker service create` users expect them.
const (
	defaultMonitor      = 5 * time.Second
	defaultRestartDelay = 5 * time.Second
)

// validate checks a service spec and fills swarm's defaults where the client left them out; id is the service
// being updated ("" for a create), whose own name does not conflict.
func (o *API) validate(spec *swarm.ServiceSpec, id string) error {
	if spec.Name == "" {
		spec.Name = namesgenerator.GetRandomName(0)
	}
	if !validServiceName.MatchString(spec.Name) || len(spec.Name) > 63 {
		return errdefs.InvalidParameter(fmt.Errorf("invalid name %q: letters, digits, '-' and '_' only, at most 63 characters, starting and ending with a letter or digit", spec.Name))
	}
	for _, s := range o.store.Services() {
		if s.Spec.Name == spec.Name && s.ID != id {
			return errdefs.Conflict(fmt.Errorf("name conflicts with an existing object: service %s already exists", spec.Name))
		}
	}
	cs := spec.TaskTemplate.ContainerSpec
	if cs == nil || cs.Image == "" {
		return errdefs.InvalidParameter(fmt.Errorf("ContainerSpec: image reference must be provided"))
	}
	if err := fillMode(&spec.Mode); err != nil {
		return err
	}
	if err := checkHonoured(spec); err != nil {
		return err
	}
	if err := o.checkFiles(cs); err != nil {
		return err
	}
	fillDefaults(spec)
	if err := checkPorts(spec, o.cfg.Networks != nil); err != nil {
		return err
	}
	return checkPlacement(spec.TaskTemplate.Placement)
}

func fillMode(m *swarm.ServiceMode) error {
	switch {
	case m.ReplicatedJob != nil || m.GlobalJob != nil:
		return errdefs.InvalidParameter(fmt.Errorf("job modes (replicated-job, global-job; compose: deploy.mode) are not supported by this cluster yet: use replicated or global"))
	case m.Global != nil:
		return nil
	case m.Replicated == nil:
		m.Replicated = &swarm.ReplicatedService{}
	}
	if m.Replicated.Replicas == nil {
		one := uint64(1)
		m.Replicated.Replicas = &one
	}
	return nil
}

func fillDefaults(spec *swarm.ServiceSpec) {
	if spec.UpdateConfig == nil {
		spec.UpdateConfig = &swarm.UpdateConfig{Parallelism: 1, FailureAction: swarm.UpdateFailureActionPause,
			Monitor: defaultMonitor, Order: swarm.UpdateOrderStopFirst}
	}
	if spec.RollbackConfig == nil {
		spec.RollbackConfig = &swarm.UpdateConfig{Parallelism: 1, FailureAction: swarm.UpdateFailureActionPause,
			Monitor: defaultMonitor, Order: swarm.UpdateOrderStopFirst}
	}
	if spec.TaskTemplate.RestartPolicy == nil {
		delay := defaultRestartDelay
		spec.TaskTemplate.RestartPolicy = &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny, Delay: &delay}
	}
	if spec.EndpointSpec == nil {
		spec.EndpointSpec = &swarm.EndpointSpec{Mode: swarm.ResolutionModeVIP}
	}
	if spec.EndpointSpec.Mode == "" {
		spec.EndpointSpec.Mode = swarm.ResolutionModeVIP
	}
	for i := range spec.EndpointSpec.Ports {
		p := &spec.EndpointSpec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = swarm.PortConfigProtocolTCP
		}
		if p.PublishMode == "" {
			p.PublishMode = swarm.PortConfigPublishModeIngress
		}
	}
}

// checkPorts refuses ports without a target, one published port given twice, and ingress ports where there is
// no routing mesh (mesh false: the manager has no cluster networks) or with endpoint mode dnsrr (as swarm).
func checkPorts(spec *swarm.ServiceSpec, mesh bool) error {
	seen := map[string]bool{}
	for _, p := range spec.EndpointSpec.Ports {
		if p.TargetPort == 0 {
			return errdefs.InvalidParameter(fmt.Errorf("invalid published port: a target port is required"))
		}
		if key := fmt.Sprintf("%d/%s", p.PublishedPort, p.Protocol); p.PublishedPort != 0 && seen[key] {
			return errdefs.InvalidParameter(fmt.Errorf("duplicate published port %s", key))
		} else {
			seen[key] = true
		}
		if p.PublishMode != swarm.PortConfigPublishModeIngress {
			continue
		}
		if !mesh {
			return errdefs.InvalidParameter(fmt.Errorf("port %d/%s is published in ingress mode (the routing mesh), which needs "+
				"the manager's discovery to be consul://; publish it on the task's node instead: --publish mode=host,target=%d,published=%d",
				p.PublishedPort, p.Protocol, p.TargetPort, p.PublishedPort))
		}
		if spec.EndpointSpec.Mode == swarm.ResolutionModeDNSRR {
			return errdefs.InvalidParameter(fmt.Errorf("EndpointSpec: port published with ingress mode can't be used with dnsrr mode"))
		}
	}
	return nil
}

// checkPlacement parses the constraints and preferences as the scheduler will, so a bad one is refused now
// rather than at each task.
func checkPlacement(p *swarm.Placement) error {
	if p == nil {
		return nil
	}
	cfg := &container.Config{Env: constraintEnv(p.Constraints)}
	if err := scheduler.ParseRequest(cfg); err != nil {
		return errdefs.InvalidParameter(err)
	}
	for _, pref := range p.Preferences {
		if pref.Spread == nil || pref.Spread.SpreadDescriptor == "" {
			return errdefs.InvalidParameter(fmt.Errorf("invalid placement preference: only spread=<key> is supported"))
		}
	}
	if err := scheduler.CheckSpread(spreadKeys(p)); err != nil {
		return errdefs.InvalidParameter(err)
	}
	return nil
}

// constraintEnv writes swarm mode's constraints as classic swarm's expressions ("node.labels.zone == a" →
// "constraint:node.labels.zone==a").
func constraintEnv(cs []string) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, "constraint:"+strings.Join(strings.Fields(c), ""))
	}
	return out
}

func spreadKeys(p *swarm.Placement) []string {
	if p == nil {
		return nil
	}
	var out []string
	for _, pref := range p.Preferences {
		if pref.Spread != nil {
			out = append(out, pref.Spread.SpreadDescriptor)
		}
	}
	return out
}
