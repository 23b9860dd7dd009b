package cluster

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
)

func inspected(labels map[string]string, mode container.NetworkMode, bindings nat.PortMap) *container.InspectResponse {
	return &container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{ID: "c1", Name: "/web",
			State: &container.State{Status: "running", Running: true, StartedAt: "2026-01-01T12:00:00Z",
				Health: &container.Health{Status: "healthy", FailingStreak: 1, Log: []*container.HealthcheckResult{{Output: "ok"}}}},
			HostConfig: &container.HostConfig{NetworkMode: mode, PortBindings: bindings, Binds: []string{"/a:/b"},
				Resources: container.Resources{Memory: 64 << 20, CPUShares: 512}}},
		Config: &container.Config{Image: "busybox", Labels: labels, Env: []string{"A=1"},
			ExposedPorts: nat.PortSet{"80/tcp": {}}},
		NetworkSettings: &container.NetworkSettings{},
	}
}

// The cache keeps of an inspect what the manager uses; the whole answer only where rescheduling needs it.
func TestCacheEntryKeepsWhatIsUsed(t *testing.T) {
	e := &Engine{}
	e.store = newStore(e)
	bind := nat.PortMap{"80/tcp": {{HostPort: "8080"}}}
	info := inspected(map[string]string{"a": "b"}, "bridge", bind)
	c := e.store.newContainer(summaryOf(info), info, time.Now(), 2)
	if c.spec != nil {
		t.Error("the full inspect is kept for a container without a reschedule policy")
	}
	if c.RunState == nil || c.RunState.ExitCode != 0 || !c.RunState.Running || c.RunState.Health.Status != "healthy" ||
		c.RunState.Health.FailingStreak != 1 || len(c.RunState.Health.Log) != 0 {
		t.Errorf("state: %+v", c.RunState)
	}
	if len(info.State.Health.Log) != 1 {
		t.Error("the engine's answer was changed")
	}
	sc := c.sched
	if sc.Memory != 64<<20 || sc.CPUs != 1 || sc.HostConfig == nil || sc.HostConfig.PortBindings["80/tcp"][0].HostPort != "8080" ||
		sc.Config != nil || sc.Names[0] != "web" {
		t.Errorf("scheduler view: %+v", sc)
	}

	host := e.store.newContainer(summaryOf(inspected(nil, "host", nil)), inspected(nil, "host", nil), time.Now(), 2)
	if host.sched.Config == nil || len(host.sched.Config.ExposedPorts) != 1 || host.sched.HostConfig.NetworkMode != "host" {
		t.Errorf("host-mode container's exposed ports: %+v", host.sched)
	}
	plain := e.store.newContainer(summaryOf(inspected(nil, "bridge", nil)), inspected(nil, "bridge", nil), time.Now(), 2)
	if plain.sched.HostConfig != nil || plain.sched.Config != nil {
		t.Errorf("a container without bound ports keeps configuration: %+v", plain.sched)
	}

	resched := inspected(map[string]string{LabelReschedule: `["on-node-failure"]`}, "bridge", bind)
	r := e.store.newContainer(summaryOf(resched), resched, time.Now(), 2)
	if r.spec != resched {
		t.Fatal("a container rescheduled on node failure does not keep its inspect")
	}
	body, err := recreateBody(r, 2)
	if err != nil || len(body) == 0 {
		t.Errorf("recreate body: %v", err)
	}
	if _, err := recreateBody(c, 2); err == nil {
		t.Error("a container without its inspect gave a recreate body")
	}
}

// A newer list entry of the same state keeps what was inspected and renames the scheduler's view.
func TestRelistedKeepsTheInspectedState(t *testing.T) {
	e := &Engine{}
	e.store = newStore(e)
	info := inspected(nil, "bridge", nat.PortMap{"80/tcp": {{HostPort: "8080"}}})
	c := e.store.newContainer(summaryOf(info), info, time.Now(), 2)
	s := c.Summary
	s.Names = []string{"/renamed"}
	n := c.relisted(s)
	if n.RunState != c.RunState || n.sched.Names[0] != "renamed" || n.sched.Memory != c.sched.Memory ||
		n.sched.HostConfig != c.sched.HostConfig || c.sched.Names[0] != "web" || n.Name() != "renamed" {
		t.Errorf("relisted: %+v, scheduler view %+v", n, n.sched)
	}
}

// An engine writes "0001-01-01T00:00:00Z" (or nothing) for a start or finish that never happened.
func TestEngineTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"":                            {},
		"0001-01-01T00:00:00Z":        {},
		"2026-11-23T14:00:01.5Z":      time.Date(2026, 11, 23, 14, 0, 1, 5e8, time.UTC),
		"2026-11-23T15:00:01.5+01:00": time.Date(2026, 11, 23, 14, 0, 1, 5e8, time.UTC),
		"not a time":                  {},
	} {
		if got := engineTime(in); !got.Equal(want) {
			t.Errorf("engineTime(%q) = %v, want %v", in, got, want)
		}
	}
}
