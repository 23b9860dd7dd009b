package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"swarm/internal/testbed"
)

// realBed compares the manager with direct engine access on the real test bed (3 dockerd engines), each
// measure taken the same way against both, in the same run.
func realBed(swarm string) ([]stats, error) {
	ctx := context.Background()
	testbed.UseSlotNumber(8)
	bed, err := testbed.Up(ctx, testbed.Options{Engines: 3})
	if err != nil {
		return nil, err
	}
	defer bed.Down()
	var addrs []string
	for _, e := range bed.Engines {
		addrs = append(addrs, e.Addr)
	}
	addr := freeAddr()
	logf, _ := os.CreateTemp("", "bench-manage-*.log")
	mgr := exec.Command(swarm, "manage", "-H", "tcp://"+addr, "nodes://"+strings.Join(addrs, ","))
	mgr.Stdout, mgr.Stderr = logf, logf
	if err := mgr.Start(); err != nil {
		return nil, err
	}
	defer func() { mgr.Process.Signal(os.Interrupt); mgr.Wait() }()
	if err := waitHealthy(addr, 3, time.Minute); err != nil {
		return nil, err
	}
	direct, err := client.NewClientWithOpts(client.WithHost("tcp://"+bed.Engines[0].Addr), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, err
	}
	viaMgr, err := client.NewClientWithOpts(client.WithHost("tcp://"+addr), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, err
	}
	// Containers pinned to node-0 so both paths reach the same engine.
	logger := run(ctx, viaMgr, "bench-logger", []string{"sh", "-c", "head -c 67108864 /dev/zero | tr '\\0' x; sleep 1000"})
	sleeper := run(ctx, viaMgr, "bench-sleeper", []string{"sleep", "1000"})
	filler := run(ctx, viaMgr, "bench-filler", []string{"sh", "-c", "head -c 134217728 /dev/zero > /big; sleep 1000"})
	time.Sleep(3 * time.Second) // let the logger and the filler finish writing
	var out []stats
	for _, c := range []struct {
		name string
		cli  *client.Client
	}{{"direct", direct}, {"manager", viaMgr}} {
		cli := c.cli
		out = append(out,
			sample("inspect ("+c.name+")", 300, 1, func(int) (int64, error) { _, err := cli.ContainerInspect(ctx, sleeper); return 0, err }),
			// each inspect the first after a change made through the same path (the manager answers it from the
			// engine, not from the answer it kept)
			sampleAfter("inspect after a change ("+c.name+")", 100, 1, func() error {
				_, err := cli.ContainerUpdate(ctx, sleeper, container.UpdateConfig{RestartPolicy: container.RestartPolicy{Name: "no"}})
				return err
			}, func(int) (int64, error) { _, err := cli.ContainerInspect(ctx, sleeper); return 0, err }),
			sample("ps -a ("+c.name+")", 200, 1, func(int) (int64, error) {
				_, err := cli.ContainerList(ctx, container.ListOptions{All: true})
				return 0, err
			}),
			sample("exec round trip ("+c.name+")", 100, 1, func(int) (int64, error) { return 0, execOnce(ctx, cli, sleeper) }),
			sample("logs 64 MiB ("+c.name+")", 5, 1, func(int) (int64, error) { return logsOnce(ctx, cli, logger) }),
			sample("export 128 MiB ("+c.name+")", 3, 1, func(int) (int64, error) { return exportOnce(ctx, cli, filler) }),
		)
	}
	return out, nil
}

func run(ctx context.Context, cli *client.Client, name string, cmd []string) string {
	resp, err := cli.ContainerCreate(ctx, &container.Config{Image: "busybox", Cmd: cmd, Env: []string{"constraint:node==node-0"}}, nil, nil, nil, name)
	if err != nil {
		panic(err)
	}
	if err := cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		panic(err)
	}
	return resp.ID
}

func execOnce(ctx context.Context, cli *client.Client, id string) error {
	ex, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: []string{"true"}, AttachStdout: true})
	if err != nil {
		return err
	}
	hr, err := cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		return err
	}
	io.Copy(io.Discard, hr.Reader)
	hr.Close()
	_, err = cli.ContainerExecInspect(ctx, ex.ID)
	return err
}

func logsOnce(ctx context.Context, cli *client.Client, id string) (int64, error) {
	rc, err := cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true})
	return drained("logs", 64<<20, rc, err)
}

func exportOnce(ctx context.Context, cli *client.Client, id string) (int64, error) {
	rc, err := cli.ContainerExport(ctx, id)
	return drained("export", 128<<20, rc, err)
}

// drained reads a stream opened with err to its end; one of fewer than want bytes is an error.
func drained(what string, want int64, rc io.ReadCloser, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if n < want {
		return n, fmt.Errorf("only %d bytes of %s", n, what)
	}
	return n, err
}
