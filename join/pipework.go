package join

import (
	"context"
	"log/slog"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"swarm/internal/backoff"
	"swarm/lease"
	"swarm/pipework"
	"swarm/pipework/cmdline"
)

// applyFixedAddresses gives every container of the engine that carries the com.docker.swarm.pipework label its
// interface: those running when it starts (or reconnects), then each one as it starts, restarts included. The
// manager leased the address at create; pipework runs in this process's network namespace, so join must run
// beside the engine with its networking (as root). It reaches the engine only through cli (join's client, TLS
// included) and returns when ctx ends.
func applyFixedAddresses(ctx context.Context, cli *client.Client, log *slog.Logger) {
	log = log.With("pipework", true)
	retry := backoff.Delay{Min: time.Second, Max: 30 * time.Second}
	for ctx.Err() == nil {
		err := followStarts(ctx, cli, log)
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
func followStarts(ctx context.Context, cli *client.Client, log *slog.Logger) error {
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
		attach(ctx, cli, c.ID, c.Labels[lease.Label], log)
	}
	for {
		select {
		case m := <-msgs:
			attach(ctx, cli, m.Actor.ID, m.Actor.Attributes[lease.Label], log)
		case err := <-errs:
			return err
		}
	}
}

// attach runs pipework for one container through cli; it is idempotent, so applying twice is harmless.
func attach(ctx context.Context, cli pipework.ContainerInspector, id, label string, log *slog.Logger) {
	r, err := lease.ParseLabel(label)
	if err == nil && r.Addr == "" {
		log.Warn("container asks for a pool address the manager did not assign; create it through the manager", "container", id)
		return
	}
	if err != nil {
		log.Warn("ignoring an invalid fixed address label", "container", id, "err", err)
		return
	}
	short := id[:min(12, len(id))]
	s, err := cmdline.Parse(r.Command(id))
	if err == nil {
		err = pipework.Run(ctx, s, cli)
	}
	if err != nil {
		log.Error("fixed address not applied", "container", short, "addr", r.Addr, "err", err)
		return
	}
	log.Info("fixed address applied", "container", short, "addr", r.Addr)
}
