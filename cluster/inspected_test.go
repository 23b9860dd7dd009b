package cluster

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/storage"
	"github.com/docker/go-connections/nat"
)

// richInspect is an engine's inspect answer with every part the cache reads set, and much it does not.
func richInspect(labels map[string]string, mode container.NetworkMode) container.InspectResponse {
	started := time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339Nano)
	hc := &container.HostConfig{NetworkMode: mode, Binds: []string{"/data:/data"}, LogConfig: container.LogConfig{Type: "json-file"},
		PortBindings: nat.PortMap{"80/tcp": {{HostIP: "0.0.0.0", HostPort: "8080"}}}, RestartPolicy: container.RestartPolicy{Name: "always"}}
	hc.Memory, hc.CPUShares, hc.CPUQuota = 64<<20, 512, 50000
	return container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{ID: "0123456789ab" + "cdef0123456789abcdef0123456789abcdef0123456789abcdef", Name: "/web",
			Image: "sha256:feed", Path: "nginx", Args: []string{"-g", "daemon off;"}, Created: "2026-11-23T10:00:00.123456789Z",
			State: &container.State{Status: "running", Running: true, Pid: 42, StartedAt: started, FinishedAt: "0001-01-01T00:00:00Z",
				Health: &container.Health{Status: "healthy", FailingStreak: 0, Log: []*container.HealthcheckResult{{Output: "ok"}}}},
			HostConfig: hc, LogPath: "/var/lib/docker/containers/x/x-json.log", Driver: "overlay2", RestartCount: 1,
			GraphDriver: storage.DriverData{Name: "overlay2", Data: map[string]string{"MergedDir": "/m"}}},
		Mounts: []container.MountPoint{{Type: mount.TypeBind, Source: "/data", Destination: "/data", RW: true}},
		Config: &container.Config{Image: "nginx:latest", Labels: labels, Hostname: "web", Env: []string{"A=1"},
			ExposedPorts: nat.PortSet{"80/tcp": {}, "443/tcp": {}}, Cmd: []string{"-g", "daemon off;"}},
		NetworkSettings: &container.NetworkSettings{
			NetworkSettingsBase: container.NetworkSettingsBase{SandboxKey: "/var/run/docker/netns/x",
				Ports: nat.PortMap{"80/tcp": {{HostIP: "0.0.0.0", HostPort: "8080"}}, "443/tcp": nil}},
			Networks: map[string]*network.EndpointSettings{"bridge": {IPAddress: "172.17.0.2", Gateway: "172.17.0.1", NetworkID: "n1"}}},
	}
}

// The cache made from the kept parts of an inspect is the cache made from the whole answer.
func TestDecodeInspectKeepsWhatTheCacheReads(t *testing.T) {
	e := &Engine{}
	e.store = newStore(e)
	for _, tt := range []struct {
		name   string
		labels map[string]string
		mode   container.NetworkMode
	}{
		{"bridge", map[string]string{"app": "web", LabelSwarmID: "abc"}, "bridge"},
		{"host network", map[string]string{"app": "web"}, "host"},
		{"no labels", nil, "default"},
	} {
		body, _ := json.Marshal(richInspect(tt.labels, tt.mode))
		var full container.InspectResponse
		if err := json.Unmarshal(body, &full); err != nil {
			t.Fatal(err)
		}
		kept, err := decodeInspect(body)
		if err != nil {
			t.Fatal(err)
		}
		want := e.store.newContainer(summaryOf(&full), &full, time.Time{}, 4)
		got := e.store.newContainer(summaryOf(&kept), &kept, time.Time{}, 4)
		if !reflect.DeepEqual(got.Summary, want.Summary) || !reflect.DeepEqual(got.RunState, want.RunState) ||
			got.times != want.times || !reflect.DeepEqual(got.sched, want.sched) || got.spec != nil {
			t.Errorf("%s: from the kept parts\n%+v %+v %+v\nfrom the whole answer\n%+v %+v %+v", tt.name,
				got.Summary, got.RunState, got.sched, want.Summary, want.RunState, want.sched)
		}
	}
	body, _ := json.Marshal(richInspect(map[string]string{"com.docker.swarm.reschedule-policies": `["on-node-failure"]`}, "bridge"))
	var full container.InspectResponse
	json.Unmarshal(body, &full)
	kept, _ := decodeInspect(body)
	if !reflect.DeepEqual(kept, full) {
		t.Error("a container rescheduled on node failure must keep its whole inspect (it is re-created from it)")
	}
	if _, err := decodeInspect([]byte(`{"Id":"x","State":{`)); err == nil {
		t.Error("a truncated answer decoded without error")
	}
}

// BenchmarkDecodeInspect decodes a rich inspect answer whole (as the Docker client does) and as the cache does.
func BenchmarkDecodeInspect(b *testing.B) {
	body, _ := json.Marshal(richInspect(map[string]string{"app": "web"}, "bridge"))
	b.Run("whole", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var full container.InspectResponse
			json.Unmarshal(body, &full)
		}
	})
	b.Run("kept", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			decodeInspect(body)
		}
	})
}
