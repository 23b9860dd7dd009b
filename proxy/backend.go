package proxy

import (
	"context"
	"time"

	"github.com/docker/docker/api/types/container"

	"swarm/cluster"
)

// The seams between the API and the cluster (*cluster.Cluster serves them all). Each handler needs one or two;
// none of them exposes how the cluster keeps its caches: calls that change something say so (cluster.Changes)
// and the cluster keeps itself right.

// Containers finds, lists, creates and inspects containers.
type Containers interface {
	Container(ref string) (*cluster.Container, error)
	ListContainersJSON(ctx context.Context, opts cluster.ListOptions) (cluster.ContainerList, error)
	CreateContainer(ctx context.Context, req cluster.CreateRequest) (*cluster.CreateResponse, error)
	Inspect(ctx context.Context, ct *cluster.Container, version, query string) ([]byte, error)
}

// Execs creates exec instances and finds the engine an exec instance runs on.
type Execs interface {
	CreateExec(ctx context.Context, ct *cluster.Container, version string, body []byte) (container.ExecCreateResponse, error)
	ExecEngine(ctx context.Context, execID string) (*cluster.Engine, error)
}

// Engines lists the engines, for calls that go to one or several of them (images, networks, volumes, prunes).
type Engines interface {
	Engines() []*cluster.Engine
}

// Events is the cluster's merged event stream.
type Events interface {
	Subscribe(since time.Time) ([]cluster.Event, <-chan cluster.Event, func())
}

// Info is /info's answer, in pieces to write in order; lead are the first SystemStatus lines.
type Info interface {
	InfoJSON(lead [][2]string) ([][]byte, error)
}

// Builds places a build on an engine; done releases the placement.
type Builds interface {
	PlaceBuild(ctx context.Context, buildArgs map[string]*string) (e *cluster.Engine, done func(), err error)
}

// Backend is every seam at once.
type Backend interface {
	Containers
	Execs
	Engines
	Events
	Info
	Builds
}

var _ Backend = (*cluster.Cluster)(nil)
