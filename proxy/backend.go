package proxy

import (
	"context"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"swarm/cluster"
	"swarm/orchestrator"
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

// Info is /info's answer, in pieces to write in order; lead are the first SystemStatus lines, sw the Swarm
// section (nil: the engines').
type Info interface {
	InfoJSON(lead [][2]string, sw *swarm.Info) ([][]byte, error)
}

// Builds places a build on an engine; done releases the placement.
type Builds interface {
	PlaceBuild(ctx context.Context, buildArgs map[string]*string) (e *cluster.Engine, done func(), err error)
}

// Services keeps services (swarm mode's /services): the desired state, with status read from the tasks. Refs
// are a full ID, an exact name or an ID prefix, in that order; an unknown one is an errdefs.NotFound.
type Services interface {
	Services(f filters.Args, status bool) ([]swarm.Service, error)
	Service(ref string, status bool) (swarm.Service, error)
	CreateService(ctx context.Context, spec swarm.ServiceSpec, registryAuth string) (swarm.ServiceCreateResponse, error)
	UpdateService(ctx context.Context, ref string, version uint64, spec swarm.ServiceSpec, opts swarm.ServiceUpdateOptions) (swarm.ServiceUpdateResponse, error)
	RemoveService(ctx context.Context, ref string) error
}

// Tasks lists tasks (one per task container, plus tasks that have none yet, e.g. rejected) and finds the
// containers whose logs make a service's or a task's log.
type Tasks interface {
	Tasks(f filters.Args) ([]swarm.Task, error)
	Task(ref string) (swarm.Task, error)
	// LogSources are the task containers of a service (ref: a service) or of one task (ref: a task ID),
	// oldest first; an unknown ref is an errdefs.NotFound.
	LogSources(ref string, ofTask bool) ([]LogSource, error)
}

// LogSource is one task container whose log lines are merged into a service's log.
type LogSource = orchestrator.LogSource

// Nodes are the engines as swarm mode's nodes, with their desired availability and labels.
type Nodes interface {
	Nodes(f filters.Args) ([]swarm.Node, error)
	Node(ref string) (swarm.Node, error)
	UpdateNode(ctx context.Context, ref string, version uint64, spec swarm.NodeSpec) error
	RemoveNode(ctx context.Context, ref string, force bool) error
	// SwarmInfo is /info's Swarm section for this manager. Every manager answers /info itself, a replica
	// too, even while no primary is elected: it answers from what this manager holds, promptly.
	SwarmInfo() swarm.Info
}

// Swarm is every swarm-mode seam; Config.Swarm may be nil, and the routes then answer as a classic manager.
type Swarm interface {
	Services
	Tasks
	Nodes
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

var (
	_ Backend = (*cluster.Cluster)(nil)
	_ Swarm   = (*orchestrator.Orchestrator)(nil)
)
