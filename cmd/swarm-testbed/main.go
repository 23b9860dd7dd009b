// Command swarm-testbed starts and stops the project's local test bed for people and the Makefile: real Docker
// engines in network namespaces, a Consul agent and, with --swarm, a swarm join per engine and a manager.
//
//	swarm-testbed up [--engines 3] [--consul] [--swarm bin/swarm] [--manager 127.0.0.1:2377]
//	swarm-testbed down
//	swarm-testbed status
//
// It always uses slot 0 (bridge swtb0, 10.99.0.0/24), which tests never take. `up` leaves everything running
// after it exits; `down` removes exactly what `up` started.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"swarm/internal/testbed"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: swarm-testbed up|down|status [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	engines := fs.Int("engines", 3, "number of engines")
	consul := fs.Bool("consul", false, "start a Consul agent")
	swarm := fs.String("swarm", "", "swarm binary: also start a join per engine and a manager")
	manager := fs.String("manager", "127.0.0.1:2377", "address of the manager's API")
	slot := fs.Int("slot", 0, "slot for down and status (0 is make cluster's; tests use 1-9)")
	fs.Parse(os.Args[2:])
	testbed.UseSlotZero()
	var err error
	switch os.Args[1] {
	case "up":
		err = up(*engines, *consul, *swarm, *manager)
	case "down":
		err = testbed.DownSlot(*slot)
	case "status":
		err = testbed.PrintStatus(os.Stdout, *slot)
	default:
		err = fmt.Errorf("unknown command %q: use up, down or status", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "swarm-testbed:", err)
		os.Exit(1)
	}
}

func up(engines int, consul bool, swarm, manager string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b, err := testbed.Up(ctx, testbed.Options{Engines: engines, Consul: consul || swarm != ""})
	if err != nil {
		return err
	}
	b.Detach() // keep running after this command exits
	fmt.Printf("engines:")
	for _, e := range b.Engines {
		fmt.Printf(" %s=tcp://%s", e.Name, e.Addr)
	}
	fmt.Println()
	if b.ConsulAddr != "" {
		fmt.Printf("consul: http://%s/ui\n", b.ConsulAddr)
	}
	if swarm == "" {
		return nil
	}
	if err := b.StartSwarm(swarm, manager); err != nil {
		return err
	}
	fmt.Printf("manager: tcp://%s (logs under %s)\n\nexport DOCKER_HOST=tcp://%s\n", manager, b.Dir, manager)
	return nil
}
