package proxy

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"swarm/cluster"
)

func TestAClassicCreateOnAServicesIngressPortIsRefusedAndMakesNothing(t *testing.T) {
	created := 0
	sw := &fakeSwarm{services: func(filters.Args, bool) ([]swarm.Service, error) {
		return []swarm.Service{{Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "lbapp1"}},
			Endpoint: swarm.Endpoint{Ports: []swarm.PortConfig{{Protocol: "tcp", TargetPort: 80, PublishedPort: 81, PublishMode: swarm.PortConfigPublishModeIngress},
				{Protocol: "tcp", TargetPort: 90, PublishedPort: 91, PublishMode: swarm.PortConfigPublishModeHost}}}}}, nil
	}}
	s := swarmServer(sw, &fakeBackend{create: func(context.Context, cluster.CreateRequest) (*cluster.CreateResponse, error) {
		created++
		return &cluster.CreateResponse{CreateResponse: container.CreateResponse{ID: "abc"}}, nil
	}})
	rec := call(s, "POST", "/containers/create", `{"Image":"nginx","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"81"}]}}}`)
	if rec.Code != http.StatusConflict || !strings.HasPrefix(message(rec), "Bind for 0.0.0.0:81 failed: port is already allocated") ||
		!strings.Contains(message(rec), "lbapp1") || created != 0 {
		t.Fatalf("create on port 81: %d %q, %d created", rec.Code, message(rec), created)
	}
	for _, body := range []string{
		`{"Image":"nginx","HostConfig":{"PortBindings":{"80/udp":[{"HostPort":"81"}]}}}`, // another protocol
		`{"Image":"nginx","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"91"}]}}}`, // a host-mode port: per node
		`{"Image":"nginx"}`,
	} {
		if rec := call(s, "POST", "/containers/create", body); rec.Code != http.StatusCreated {
			t.Errorf("%s: %d %s", body, rec.Code, rec.Body)
		}
	}
}
