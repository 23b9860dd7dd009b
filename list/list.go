// Package list runs `swarm list`: it prints the engines registered in discovery, one host:port per line, sorted.
package list

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"swarm/discovery"
)

// Run prints the registered engines once (the first list discovery returns) and fails after cfg.Timeout.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	b, err := discovery.New(cfg.Discovery, discovery.Options{Heartbeat: cfg.Timeout, Opts: cfg.DiscoveryOpts, Logger: cfg.Logger})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	entries, errs := b.Watch(ctx)
	var lastErr error
	for {
		select {
		case list, ok := <-entries:
			if !ok {
				return timedOut(cfg, lastErr)
			}
			for _, e := range list {
				fmt.Fprintln(cfg.Out, e.String())
			}
			return nil
		case err, ok := <-errs:
			if ok {
				lastErr = err
			} else {
				errs = nil
			}
		case <-ctx.Done():
			return timedOut(cfg, lastErr)
		}
	}
}

func timedOut(cfg Config, last error) error {
	msg := fmt.Sprintf("Timed out after %s waiting for the list of engines from %s", cfg.Timeout, cfg.Discovery)
	if last != nil {
		return fmt.Errorf("%s: %w", msg, last)
	}
	return errors.New(msg)
}
