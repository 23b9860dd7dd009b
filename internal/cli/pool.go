package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"swarm/discovery"
	"swarm/lease"
	"swarm/pipework/cmdline"
)

const poolUsage = `usage: swarm pipework pool add <consul://HOST:PORT/PREFIX> NAME SUBNET FIRST-LAST[@GATEWAY]
       swarm pipework pool ls  <consul://HOST:PORT/PREFIX>
       swarm pipework pool rm  <consul://HOST:PORT/PREFIX> NAME`

// poolArgs is how many arguments (the action included) each pool action takes.
var poolArgs = map[string]int{"add": 5, "ls": 2, "rm": 3}

// runPool runs `swarm pipework pool add|ls|rm` (args after "pool") on the pools of fixed addresses kept in Consul,
// from which containers labelled "HOSTIF pool:NAME" get theirs. A failure is printed on stderr and returned as a
// usage-class *cmdline.ExitError, so the process exits with pipework's code 1 without printing it again.
func runPool(args []string, stdout, stderr io.Writer) error {
	if err := pool(args, stdout); err != nil {
		fmt.Fprintln(stderr, "pipework pool:", err)
		return &cmdline.ExitError{Code: cmdline.ExitUsage, Err: err}
	}
	return nil
}

func pool(args []string, stdout io.Writer) error {
	if len(args) == 0 || poolArgs[args[0]] != len(args) {
		return fmt.Errorf("wrong arguments\n%s", poolUsage)
	}
	s, err := poolStore(args[1])
	if err != nil {
		return err
	}
	switch args[0] {
	case "add":
		p, err := lease.ParsePool(args[2], args[3], args[4])
		if err != nil {
			return err
		}
		return s.AddPool(p)
	case "rm":
		return s.RemovePool(args[2])
	}
	return printPools(s, stdout)
}

// poolStore opens the address store under the prefix of a consul:// discovery URL.
func poolStore(url string) (*lease.Store, error) {
	if !strings.HasPrefix(url, "consul://") {
		return nil, fmt.Errorf("pools live in Consul: give a consul://HOST:PORT/PREFIX discovery URL, not %q", url)
	}
	client, prefix, err := discovery.ConsulClient(url, discovery.Options{})
	if err != nil {
		return nil, err
	}
	return lease.New(client.KV(), prefix), nil
}

// printPools writes one line a pool, by name, under a header.
func printPools(s *lease.Store, w io.Writer) error {
	pools, err := s.Pools()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSUBNET\tRANGE\tGATEWAY")
	for _, p := range pools {
		fmt.Fprintf(tw, "%s\t%s\t%s-%s\t%s\n", p.Name, p.Subnet, p.First, p.Last, p.Gateway)
	}
	return tw.Flush()
}
