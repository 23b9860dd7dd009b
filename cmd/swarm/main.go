// Command swarm is the single binary: manage, join, list and pipework.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"swarm/internal/cli"
	"swarm/pipework/cmdline"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := cli.Run(ctx, cli.Env{Program: os.Args[0], Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr}, os.Args[1:])
	stop()
	if err == nil {
		return
	}
	var exit *cmdline.ExitError
	if errors.As(err, &exit) { // pipework has printed its one-line message itself
		os.Exit(exit.Code)
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
