package proxy_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"

	"swarm/internal/simengine"
)

// An inspect through the manager is answered again from the engine's last answer until something happens to
// the container: a call through the manager (seen by its caller at once), or an event from the engine (seen by
// anyone who saw the event).
func TestInspectAnswersAreKeptUntilTheContainerChanges(t *testing.T) {
	sim := simengine.New(simengine.Options{Name: "sim-0"})
	f := newFixture(t, sim)
	f.waitHealthy(t, 1)
	ctx := context.Background()
	resp, err := f.cli.ContainerCreate(ctx, &container.Config{Image: "busybox"}, nil, nil, nil, "kept")
	if err != nil {
		t.Fatal(err)
	}
	evctx, stop := context.WithCancel(ctx)
	defer stop()
	evs, errs := f.cli.Events(evctx, events.ListOptions{})
	if err := f.cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	// The start's event may come after the first inspect below and drop its answer: once the event was seen,
	// nothing more will.
	waitEvent := func(action events.Action) {
		t.Helper()
		for seen := false; !seen; {
			select {
			case m := <-evs:
				seen = m.Actor.ID == resp.ID && m.Action == action
			case err := <-errs:
				t.Fatal(err)
			case <-time.After(5 * time.Second):
				t.Fatalf("no %s event from the manager", action)
			}
		}
	}
	waitEvent(events.ActionStart)
	inspect := func(want string) (engineReads int64) {
		t.Helper()
		before := sim.Inspects()
		in, err := f.cli.ContainerInspect(ctx, "kept")
		if err != nil || in.State.Status != want || in.ID != resp.ID {
			t.Fatalf("inspect: %v, state %+v; want %s", err, in.State, want)
		}
		return sim.Inspects() - before
	}
	inspect("running")
	if n := inspect("running"); n != 0 {
		t.Fatalf("a second inspect of an unchanged container read the engine %d times", n)
	}
	before := sim.Inspects()
	if _, _, err := f.cli.ContainerInspectWithRaw(ctx, "kept", true); err != nil || sim.Inspects() == before {
		t.Fatalf("an inspect with size was not sent to the engine (%v)", err)
	}

	if err := f.cli.ContainerStop(ctx, "kept", container.StopOptions{}); err != nil {
		t.Fatal(err)
	}
	inspect("exited") // the caller of a change sees it at once
	waitEvent(events.ActionStop)
	inspect("exited")
	if n := inspect("exited"); n != 0 {
		t.Fatalf("the answer after the stop was not kept (%d engine reads)", n)
	}

	req, _ := http.NewRequest(http.MethodPost, f.engines[0].URL+"/v1.41/containers/"+resp.ID+"/start", nil)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusNoContent {
		t.Fatalf("start on the engine directly: %v", err)
	}
	waitEvent(events.ActionStart)
	inspect("running") // whoever saw the event sees the change
}
