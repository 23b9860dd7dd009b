package cluster

import (
	"encoding/json"
	"testing"

	"github.com/docker/docker/api/types/container"
)

// FuzzCreateBody feeds arbitrary container-create bodies through the manager's own handling (decode, then the
// rewrite sent to the engine): it must never panic, and a body it accepts must stay valid JSON that keeps the
// swarm labels it was given.
func FuzzCreateBody(f *testing.F) {
	for _, seed := range []string{
		`{"Image":"busybox"}`,
		`{"Image":"busybox","Env":["constraint:node==node-1","A=1"],"Labels":{"x":"y"},"HostConfig":{"CpuShares":2,"Memory":1048576}}`,
		`{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"8080"}]}},"ExposedPorts":{"80/tcp":{}}}`,
		`{"Image":"busybox","HostConfig":{"CpuShares":-5}}`,
		`{"HostConfig":null}`,
		`null`,
		`[]`,
		`{"Image":1}`,
		`{"Unknown":{"deep":[1,2,{"x":null}]},"Image":"a"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var cr container.CreateRequest
		if err := json.Unmarshal(body, &cr); err != nil {
			return
		}
		if cr.Config == nil {
			cr.Config = &container.Config{}
		}
		if cr.HostConfig == nil {
			cr.HostConfig = &container.HostConfig{}
		}
		cr.Config.Labels = map[string]string{LabelSwarmID: "fuzz"}
		out, err := engineCreateBody(body, &cr, 4, false)
		if err != nil {
			return
		}
		var back container.CreateRequest
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("rewritten body is not valid: %v\n%s", err, out)
		}
		if back.Config == nil || back.Labels[LabelSwarmID] != "fuzz" {
			t.Fatalf("rewritten body lost the swarm ID: %s", out)
		}
	})
}
