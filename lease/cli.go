package lease

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"swarm/discovery"
)

const poolUsage = `usage: swarm pipework pool add <consul://HOST:PORT/PREFIX> NAME SUBNET FIRST-LAST[@GATEWAY]
       swarm pipework pool ls  <consul://HOST:PORT/PREFIX>
       swarm pipework pool rm  <consul://HOST:PORT/PREFIX> NAME`

// RunPoolCLI runs `swarm pipework pool ...` (args after "pool"): pools of fixed addresses kept in Consul, from
// which containers labelled "HOSTIF pool:NAME" get theirs. Errors are printed as one line on stderr.
func RunPoolCLI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	err := runPool(args, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "pipework pool:", err)
	}
	return err
}

func runPool(args []string, stdout io.Writer) error {
	want := map[string]int{"add": 5, "ls": 2, "rm": 3}
	if len(args) == 0 || want[args[0]] != len(args) {
		return fmt.Errorf("wrong arguments\n%s", poolUsage)
	}
	if !strings.HasPrefix(args[1], "consul://") {
		return fmt.Errorf("pools live in Consul: give a consul://HOST:PORT/PREFIX discovery URL, not %q", args[1])
	}
	cl, prefix, err := discovery.ConsulClient(args[1], discovery.Options{})
	if err != nil {
		return err
	}
	s := New(cl.KV(), prefix)
	switch args[0] {
	case "add":
		p, err := ParsePool(args[2], args[3], args[4])
		if err != nil {
			return err
		}
		return s.AddPool(p)
	case "rm":
		return s.RemovePool(args[2])
	}
	pools, err := s.Pools()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSUBNET\tRANGE\tGATEWAY")
	for _, p := range pools {
		fmt.Fprintf(tw, "%s\t%s\t%s-%s\t%s\n", p.Name, p.Subnet, p.First, p.Last, p.Gateway)
	}
	return tw.Flush()
}
