package cluster

import (
	"encoding/json"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"swarm/scheduler"
)

// inspectAnswer is the part of an engine's inspect answer the cache keeps (summaryOf, newContainer,
// schedContainer read nothing else). Decoding only it spares the decoder the rest of the answer: the
// engine's paths, drivers, the whole host configuration but four fields, and so on.
type inspectAnswer struct {
	ID, Name, Image, Path, Created string
	Args                           []string
	Mounts                         []container.MountPoint
	State                          *container.State
	Config                         *struct {
		Image        string
		Labels       map[string]string
		ExposedPorts nat.PortSet
	}
	HostConfig *struct {
		NetworkMode  container.NetworkMode
		Memory       int64
		CPUShares    int64 `json:"CpuShares"`
		PortBindings nat.PortMap
	}
	NetworkSettings *struct {
		Networks map[string]*network.EndpointSettings
		Ports    nat.PortMap
	}
}

// decodeInspect reads an engine's inspect answer into the parts the cache keeps; the whole answer for a
// container that is rescheduled on node failure, which is re-created from it.
func decodeInspect(body []byte) (container.InspectResponse, error) {
	var in inspectAnswer
	if err := json.Unmarshal(body, &in); err != nil {
		return container.InspectResponse{}, err
	}
	if in.Config != nil && scheduler.ReschedulePolicy(in.Config.Labels) == "on-node-failure" {
		var full container.InspectResponse
		err := json.Unmarshal(body, &full)
		return full, err
	}
	out := container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{ID: in.ID, Name: in.Name,
		Image: in.Image, Path: in.Path, Args: in.Args, Created: in.Created, State: in.State}, Mounts: in.Mounts}
	if c := in.Config; c != nil {
		out.Config = &container.Config{Image: c.Image, Labels: c.Labels, ExposedPorts: c.ExposedPorts}
	}
	if h := in.HostConfig; h != nil {
		out.HostConfig = &container.HostConfig{NetworkMode: h.NetworkMode, PortBindings: h.PortBindings}
		out.HostConfig.Memory, out.HostConfig.CPUShares = h.Memory, h.CPUShares
	}
	if n := in.NetworkSettings; n != nil {
		out.NetworkSettings = &container.NetworkSettings{Networks: n.Networks}
		out.NetworkSettings.Ports = n.Ports
	}
	return out, nil
}
