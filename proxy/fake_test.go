package proxy

import (
	"context"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"

	"swarm/cluster"
)

// fakeBackend is a Backend whose methods are function fields; calling one that is not set panics (which the
// panic test wants), but Engines (none), Subscribe (nothing happens) and InfoJSON (an empty object).
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
func (f *fakeBackend) InfoJSON([][2]string, *swarm.Info) ([][]byte, error) {
	return [][]byte{[]byte("{}")}, nil
}
func (f *fakeBackend) PlaceBuild(ctx context.Context, args map[string]*string) (*cluster.Engine, func(), error) {
	return f.placeBuild(ctx, args)
}
