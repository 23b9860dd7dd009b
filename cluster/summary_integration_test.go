//go:build integration

package cluster

import (
	"encoding/json"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"

	"swarm/internal/testbed"
)

// TestSummaryOfMatchesTheEngineList checks that a container re-read with one inspect gets the list entry a real
// engine gives, for each state a container can be in.
func TestSummaryOfMatchesTheEngineList(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{Engines: 1})
	cli, err := client.NewClientWithOpts(client.WithHost("tcp://"+bed.Engines[0].Addr), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	mk := func(name string, cmd []string, hc *container.HostConfig) string {
		cfg := &container.Config{Image: "busybox", Cmd: cmd, Labels: map[string]string{"app": name},
			ExposedPorts: nat.PortSet{"80/tcp": {}, "53/udp": {}}}
		resp, err := cli.ContainerCreate(ctx, cfg, hc, nil, nil, name)
		if err != nil {
			t.Fatal(err)
		}
		return resp.ID
	}
	ports := &container.HostConfig{PortBindings: nat.PortMap{"80/tcp": {{HostPort: "18080"}}, "53/udp": {{HostIP: "127.0.0.1", HostPort: "10053"}}}}
	created := mk("s-created", []string{"sleep", "100"}, nil)
	running := mk("s-running", []string{"sleep", "100"}, ports)
	exited := mk("s-exited", []string{"sh", "-c", "exit 3"}, nil)
	paused := mk("s-paused", []string{"sleep", "100"}, nil)
	for _, id := range []string{running, exited, paused} {
		if err := cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cli.ContainerPause(ctx, paused); err != nil {
		t.Fatal(err)
	}
	waitC, errC := cli.ContainerWait(ctx, exited, container.WaitConditionNotRunning)
	select {
	case <-waitC:
	case err := <-errC:
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // so the texts read "1 second" rather than "Less than a second"
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]*regexp.Regexp{created: regexp.MustCompile(`^Created$`), running: regexp.MustCompile(`^Up \d+ seconds?$`),
		exited: regexp.MustCompile(`^Exited \(3\) \d+ seconds? ago$`), paused: regexp.MustCompile(`^Up \d+ seconds? \(Paused\)$`)}
	seen := 0
	for _, want := range list {
		re := status[want.ID]
		if re == nil {
			continue
		}
		seen++
		info, err := cli.ContainerInspect(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := summaryOf(&info)
		name := want.Names[0]
		if !re.MatchString(want.Status) || !re.MatchString(got.Status) {
			t.Errorf("%s: status %q from the engine, %q made from inspect, want %s", name, want.Status, got.Status, re)
		}
		byPort := func(a, b container.Port) int { return int(a.PrivatePort) - int(b.PrivatePort) }
		slices.SortFunc(want.Ports, byPort)
		slices.SortFunc(got.Ports, byPort)
		for _, f := range []struct {
			what      string
			got, want any
		}{
			{"ID", got.ID, want.ID}, {"Names", got.Names, want.Names}, {"Image", got.Image, want.Image},
			{"ImageID", got.ImageID, want.ImageID}, {"Command", got.Command, want.Command},
			{"Created", got.Created, want.Created}, {"State", got.State, want.State},
			{"Labels", got.Labels, want.Labels}, {"Ports", got.Ports, want.Ports},
			{"NetworkMode", got.HostConfig.NetworkMode, want.HostConfig.NetworkMode},
			{"Networks", len(got.NetworkSettings.Networks), len(want.NetworkSettings.Networks)},
			{"Mounts", len(got.Mounts), len(want.Mounts)},
		} {
			if !equalJSON(f.got, f.want) {
				t.Errorf("%s: %s is %v made from inspect, %v from the engine's list", name, f.what, f.got, f.want)
			}
		}
	}
	if seen != 4 {
		t.Fatalf("the engine listed %d of the 4 containers", seen)
	}
}

// equalJSON compares as the API client sees it, an empty list or map being the same as none.
func equalJSON(a, b any) bool {
	norm := func(v any) string {
		j, _ := json.Marshal(v)
		if s := string(j); s != "[]" && s != "{}" {
			return s
		}
		return "null"
	}
	return norm(a) == norm(b)
}
