package orchestrator

import (
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/go-connections/nat"
)

// taskLabels are the labels that make a container a task.
func taskLabels(s swarm.Service, taskID string, slot int, node string) map[string]string {
	return map[string]string{LabelServiceID: s.ID, LabelServiceName: s.Spec.Name, LabelTaskID: taskID,
		LabelTaskName: taskName(s.Spec.Name, slot, node) + "." + taskID, LabelSlot: strconv.Itoa(slot), LabelSpec: curHash(s),
		LabelCreated: time.Now().UTC().Format(time.RFC3339Nano)}
}

// containerRequest is the create request of a task's container: the service's container spec as the engine's
// container config, swarm's placement as classic expressions, no restart policy (the manager restarts tasks),
// on the first of nets (connectRest adds the others).
func containerRequest(s swarm.Service, taskID string, slot int, node string, extra []string, nets []attachment) *container.CreateRequest {
	t := s.Spec.TaskTemplate
	cs := t.ContainerSpec
	cfg := &container.Config{Image: cs.Image, Entrypoint: cs.Command, Cmd: cs.Args, Env: cs.Env, WorkingDir: cs.Dir,
		User: cs.User, Hostname: cs.Hostname, Tty: cs.TTY, OpenStdin: cs.OpenStdin, StopSignal: cs.StopSignal,
		Healthcheck: cs.Healthcheck, Labels: map[string]string{}}
	for k, v := range cs.Labels {
		cfg.Labels[k] = v
	}
	for k, v := range taskLabels(s, taskID, slot, node) {
		cfg.Labels[k] = v
	}
	if cs.StopGracePeriod != nil {
		secs := int(cs.StopGracePeriod.Seconds())
		cfg.StopTimeout = &secs
	}
	var constraints []string
	if t.Placement != nil {
		constraints = t.Placement.Constraints
	}
	cfg.Env = append(append(append([]string{}, cfg.Env...), constraintEnv(constraints)...), constraintEnv(extra)...)
	hc := hostConfig(s.Spec, cs)
	cfg.ExposedPorts, hc.PortBindings = hostPorts(s.Spec)
	nc := networking(hc, nets)
	return &container.CreateRequest{Config: cfg, HostConfig: hc, NetworkingConfig: nc}
}

func hostConfig(spec swarm.ServiceSpec, cs *swarm.ContainerSpec) *container.HostConfig {
	hc := &container.HostConfig{Mounts: cs.Mounts, ReadonlyRootfs: cs.ReadOnly, CapAdd: cs.CapabilityAdd,
		CapDrop: cs.CapabilityDrop, Init: cs.Init, Sysctls: cs.Sysctls, GroupAdd: cs.Groups, OomScoreAdj: int(cs.OomScoreAdj),
		SecurityOpt: securityOpts(cs.Privileges)}
	hc.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyDisabled}
	if d := cs.DNSConfig; d != nil {
		hc.DNS, hc.DNSSearch, hc.DNSOptions = d.Nameservers, d.Search, d.Options
	}
	for _, h := range cs.Hosts { // "IP host..." (or "host:IP")
		if f := strings.Fields(h); len(f) >= 2 {
			for _, name := range f[1:] {
				hc.ExtraHosts = append(hc.ExtraHosts, name+":"+f[0])
			}
		} else {
			hc.ExtraHosts = append(hc.ExtraHosts, h)
		}
	}
	if r := spec.TaskTemplate.Resources; r != nil {
		if l := r.Limits; l != nil {
			hc.NanoCPUs, hc.Memory = l.NanoCPUs, l.MemoryBytes
			if l.Pids > 0 {
				pids := l.Pids
				hc.PidsLimit = &pids
			}
		}
		if rs := r.Reservations; rs != nil {
			hc.MemoryReservation = rs.MemoryBytes
			if rs.NanoCPUs > 0 { // classic swarm's create reads CpuShares as CPUs to reserve
				hc.CPUShares = (rs.NanoCPUs + 1e9 - 1) / 1e9
			}
		}
	}
	for _, u := range cs.Ulimits {
		hc.Ulimits = append(hc.Ulimits, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	if ld := spec.TaskTemplate.LogDriver; ld != nil {
		hc.LogConfig = container.LogConfig{Type: ld.Name, Config: ld.Options}
	}
	return hc
}

// hostPorts binds the ports published in host mode on the task's node; ingress ones are only exposed.
func hostPorts(spec swarm.ServiceSpec) (nat.PortSet, nat.PortMap) {
	if spec.EndpointSpec == nil || len(spec.EndpointSpec.Ports) == 0 {
		return nil, nil
	}
	set, m := nat.PortSet{}, nat.PortMap{}
	for _, p := range spec.EndpointSpec.Ports {
		if p.PublishMode != swarm.PortConfigPublishModeHost {
			set[nat.Port(strconv.Itoa(int(p.TargetPort))+"/"+string(p.Protocol))] = struct{}{} // reached through the mesh
			continue
		}
		port := nat.Port(strconv.Itoa(int(p.TargetPort)) + "/" + string(p.Protocol))
		set[port] = struct{}{}
		b := nat.PortBinding{}
		if p.PublishedPort > 0 {
			b.HostPort = strconv.Itoa(int(p.PublishedPort))
		}
		m[port] = append(m[port], b)
	}
	return set, m
}

// networking puts the task on the first of nets, with its aliases there, and gives it the first cluster
// network's DNS unless the service names its own servers.
func networking(hc *container.HostConfig, nets []attachment) *network.NetworkingConfig {
	if len(nets) == 0 {
		return nil
	}
	hc.NetworkMode = container.NetworkMode(nets[0].name)
	if dns := firstDNS(nets); dns != "" && len(hc.DNS) == 0 {
		hc.DNS = []string{dns}
	}
	return &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		nets[0].name: {Aliases: nets[0].aliases},
	}}
}
