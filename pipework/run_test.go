package pipework

import (
	"context"
	"errors"
	"testing"

	"github.com/docker/docker/api/types/container"

	"swarm/pipework/cmdline"
)

// fakeDocker answers inspects through a function field.
type fakeDocker struct {
	inspect func(id string) (container.InspectResponse, error)
}

var _ ContainerInspector = fakeDocker{}

func (f fakeDocker) ContainerInspect(_ context.Context, id string) (container.InspectResponse, error) {
	return f.inspect(id)
}

// Run finds the container through the client it is given, and a container it cannot use fails with exit code 2
// before anything is touched.
func TestRunFindsTheContainerThroughTheGivenClient(t *testing.T) {
	stopped := container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{ID: "abc",
		State: &container.State{Running: false}}}
	for _, tt := range []struct {
		name   string
		answer container.InspectResponse
		err    error
		want   string
	}{
		{"unknown", container.InspectResponse{}, errors.New("No such container: web"), "container web: No such container: web"},
		{"stopped", stopped, nil, "container web is not running"},
	} {
		var asked []string
		docker := fakeDocker{inspect: func(id string) (container.InspectResponse, error) {
			asked = append(asked, id)
			return tt.answer, tt.err
		}}
		s, err := cmdline.Parse([]string{"br1", "web", "10.0.0.2/24"})
		if err != nil {
			t.Fatal(err)
		}
		err = Run(context.Background(), s, docker)
		var ee *cmdline.ExitError
		if !errors.As(err, &ee) || ee.Code != cmdline.ExitContainer || ee.Error() != tt.want || len(asked) != 1 || asked[0] != "web" {
			t.Errorf("%s: %v (asked %v), want %q with exit code %d", tt.name, err, asked, tt.want, cmdline.ExitContainer)
		}
	}
}
