package proxy

import (
	"context"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"swarm/cluster"
)

// fakeBackend is a Backend whose methods are function fields; calling one that is not set panics (which the
// panic test wants), but Engines (none), Subscribe (nothing happens) and InfoJSON (an empty object, unless info
// is set).
type fakeBackend struct {
	container  func(ref string) (*cluster.Container, error)
	list       func(cluster.ListOptions) (cluster.ContainerList, error)
	create     func(context.Context, cluster.CreateRequest) (*cluster.CreateResponse, error)
	inspect    func(ctx context.Context, ct *cluster.Container, version, query string) ([]byte, error)
	createExec func(ctx context.Context, ct *cluster.Container, version string, body []byte) (container.ExecCreateResponse, error)
	execEngine func(ctx context.Context, id string) (*cluster.Engine, error)
	engines    func() []*cluster.Engine
	subscribe  func(since time.Time) ([]cluster.Event, <-chan cluster.Event, func())
	placeBuild func(ctx context.Context, args map[string]*string) (*cluster.Engine, func(), error)
	info       func(lead [][2]string, sw *swarm.Info) ([][]byte, error)
}

var _ Backend = (*fakeBackend)(nil)

func (f *fakeBackend) Container(ref string) (*cluster.Container, error) { return f.container(ref) }
func (f *fakeBackend) ListContainersJSON(_ context.Context, o cluster.ListOptions) (cluster.ContainerList, error) {
	return f.list(o)
}
func (f *fakeBackend) CreateContainer(ctx context.Context, r cluster.CreateRequest) (*cluster.CreateResponse, error) {
	return f.create(ctx, r)
}
func (f *fakeBackend) Inspect(ctx context.Context, ct *cluster.Container, version, query string) ([]byte, error) {
	return f.inspect(ctx, ct, version, query)
}
func (f *fakeBackend) CreateExec(ctx context.Context, ct *cluster.Container, version string, body []byte) (container.ExecCreateResponse, error) {
	return f.createExec(ctx, ct, version, body)
}
func (f *fakeBackend) ExecEngine(ctx context.Context, id string) (*cluster.Engine, error) {
	return f.execEngine(ctx, id)
}
func (f *fakeBackend) Engines() []*cluster.Engine {
	if f.engines == nil {
		return nil
	}
	return f.engines()
}
func (f *fakeBackend) Subscribe(since time.Time) ([]cluster.Event, <-chan cluster.Event, func()) {
	if f.subscribe == nil {
		return nil, make(chan cluster.Event), func() {}
	}
	return f.subscribe(since)
}
func (f *fakeBackend) InfoJSON(lead [][2]string, sw *swarm.Info) ([][]byte, error) {
	if f.info == nil {
		return [][]byte{[]byte("{}")}, nil
	}
	return f.info(lead, sw)
}
func (f *fakeBackend) PlaceBuild(ctx context.Context, args map[string]*string) (*cluster.Engine, func(), error) {
	return f.placeBuild(ctx, args)
}

// fakeSwarm is a Swarm whose methods are function fields; calling one that is not set panics, but SwarmInfo (a
// zero section).
type fakeSwarm struct {
	services      func(f filters.Args, status bool) ([]swarm.Service, error)
	service       func(ref string, status bool) (swarm.Service, error)
	createService func(spec swarm.ServiceSpec, registryAuth string) (swarm.ServiceCreateResponse, error)
	updateService func(ref string, version uint64, spec swarm.ServiceSpec, opts swarm.ServiceUpdateOptions) (swarm.ServiceUpdateResponse, error)
	removeService func(ref string) error
	tasks         func(f filters.Args) ([]swarm.Task, error)
	task          func(ref string) (swarm.Task, error)
	logSources    func(ref string, ofTask bool) ([]LogSource, error)
	nodes         func(f filters.Args) ([]swarm.Node, error)
	node          func(ref string) (swarm.Node, error)
	updateNode    func(ref string, version uint64, spec swarm.NodeSpec) error
	removeNode    func(ref string, force bool) error
	swarmInfo     func() swarm.Info
}

var _ Swarm = (*fakeSwarm)(nil)

func (f *fakeSwarm) Services(fl filters.Args, status bool) ([]swarm.Service, error) {
	return f.services(fl, status)
}
func (f *fakeSwarm) Service(ref string, status bool) (swarm.Service, error) {
	return f.service(ref, status)
}
func (f *fakeSwarm) CreateService(_ context.Context, spec swarm.ServiceSpec, auth string) (swarm.ServiceCreateResponse, error) {
	return f.createService(spec, auth)
}
func (f *fakeSwarm) UpdateService(_ context.Context, ref string, version uint64, spec swarm.ServiceSpec, opts swarm.ServiceUpdateOptions) (swarm.ServiceUpdateResponse, error) {
	return f.updateService(ref, version, spec, opts)
}
func (f *fakeSwarm) RemoveService(_ context.Context, ref string) error { return f.removeService(ref) }
func (f *fakeSwarm) Tasks(fl filters.Args) ([]swarm.Task, error)       { return f.tasks(fl) }
func (f *fakeSwarm) Task(ref string) (swarm.Task, error)               { return f.task(ref) }
func (f *fakeSwarm) LogSources(ref string, ofTask bool) ([]LogSource, error) {
	return f.logSources(ref, ofTask)
}
func (f *fakeSwarm) Nodes(fl filters.Args) ([]swarm.Node, error) { return f.nodes(fl) }
func (f *fakeSwarm) Node(ref string) (swarm.Node, error)         { return f.node(ref) }
func (f *fakeSwarm) UpdateNode(_ context.Context, ref string, version uint64, spec swarm.NodeSpec) error {
	return f.updateNode(ref, version, spec)
}
func (f *fakeSwarm) RemoveNode(_ context.Context, ref string, force bool) error {
	return f.removeNode(ref, force)
}
func (f *fakeSwarm) SwarmInfo() swarm.Info {
	if f.swarmInfo == nil {
		return swarm.Info{}
	}
	return f.swarmInfo()
}
