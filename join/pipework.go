package join

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"swarm/internal/backoff"
	"swarm/lease"
	"swarm/pipework"
)

// applyFixedAddresses gives every container of the engine that carries the com.docker.swarm.pipework label its
// interface: those running when it starts (or reconnects), then each one as it starts, restarts included. The
// manager leased the address at create; pipework runs in this process's network namespace, so join must run
// beside the engine with its networking (as root). It returns when ctx ends.
func applyFixedAddresses(ctx context.Context, engine string, log *slog.Logger) {
	log = log.With("pipework", true)
	cli, err := client.NewClientWithOpts(client.WithHost("tcp://"+engine), client.WithAPIVersionNegotiation())
	if err != nil {
		log.Error("fixed addresses disabled: docker client", "err", err)
		return
	}
	defer cli.Close()
	retry := backoff.Delay{Min: time.Second, Max: 30 * time.Second}
	for ctx.Err() == nil {
		err := followStarts(ctx, cli, engine, log)
		if ctx.Err() != nil {
			return
		}
		wait := retry.Next()
		log.Warn("engine events lost; catching up after a pause", "err", err, "retry_in", wait)
		if !backoff.Sleep(ctx, wait) {
			return
		}
	}
}

// followStarts subscribes to start events first, then applies the labels of the running containers, so no start
// falls between the two.
func followStarts(ctx context.Context, cli *client.Client, engine string, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx) // ends this subscription when we return, so retries do not pile up
	defer cancel()
	label := filters.Arg("label", lease.Label)
	msgs, errs := cli.Events(ctx, events.ListOptions{Filters: filters.NewArgs(label,
		filters.Arg("type", string(events.ContainerEventType)), filters.Arg("event", string(events.ActionStart)))})
	running, err := cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(label)})
	if err != nil {
		return err
	}
	for _, c := range running {
		attach(ctx, engine, c.ID, c.Labels[lease.Label], log)
	}
	for {
		select {
		case m := <-msgs:
			attach(ctx, engine, m.Actor.ID, m.Actor.Attributes[lease.Label], log)
		case err := <-errs:
			return err
		}
	}
}

// attach runs pipework for one container; it is idempotent, so applying twice is harmless.
func attach(ctx context.Context, engine, id, label string, log *slog.Logger) {
	r, err := lease.ParseLabel(label)
	if err == nil && r.Addr == "" {
		log.Warn("container asks for a pool address the manager did not assign; create it through the manager", "container", id)
		return
	}
	if err != nil {
		log.Warn("ignoring an invalid fixed address label", "container", id, "err", err)
		return
	}
	var stderr bytes.Buffer
	args := append([]string{"--docker-host", "tcp://" + engine}, r.Command(id)...)
	if err := pipework.RunCLI(ctx, args, io.Discard, &stderr); err != nil {
		log.Error("fixed address not applied", "container", id[:min(12, len(id))], "addr", r.Addr, "err", strings.TrimSpace(stderr.String()))
		return
	}
	log.Info("fixed address applied", "container", id[:min(12, len(id))], "addr", r.Addr)
}
