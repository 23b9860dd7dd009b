// Command swarm-sim is a TEST TOOL: it serves a fleet of simulated Docker engines (package internal/simengine),
// each on its own loopback address, for benchmarks of the manager at scale. Nothing is run in them.
//
//	swarm-sim --count 1000 --containers 30 [--first 0] [--latency 0s] [--file /tmp/engines]
//
// It prints "ready N" once every engine listens, writes the engines' addresses to --file (one per line, the
// file:// discovery format) and serves until interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"swarm/internal/gcfloor"
	"swarm/internal/simengine"
)

func main() {
	first := flag.Int("first", 0, "index of the first engine")
	count := flag.Int("count", 100, "number of engines")
	containers := flag.Int("containers", 30, "containers per engine")
	latency := flag.Duration("latency", 0, "added to every request, to model real engines")
	port := flag.Int("port", 2375, "port of every engine")
	file := flag.String("file", "", "write the engines' addresses here (file:// discovery format)")
	flag.Parse()
	go gcfloor.Run(context.Background(), gcfloor.Headroom) // a test tool: take as little of the machine as it can
	f, err := simengine.StartFleet(simengine.FleetOptions{First: *first, Count: *count, Containers: *containers,
		Port: *port, Latency: *latency})
	if err != nil {
		fmt.Fprintln(os.Stderr, "swarm-sim:", err)
		os.Exit(1)
	}
	if *file != "" {
		if err := os.WriteFile(*file, []byte(strings.Join(f.Addrs, "\n")+"\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "swarm-sim:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("ready %d\n", len(f.Addrs))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	f.Close()
}
