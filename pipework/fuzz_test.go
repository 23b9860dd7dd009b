package pipework

import (
	"errors"
	"strings"
	"testing"

	"swarm/pipework/cmdline"
)

// FuzzPipeworkArgs: Parse either returns a spec whose names fit the kernel's limit, or a *cmdline.ExitError with a
// message and a usage-class code; planning an accepted spec never panics.
func FuzzPipeworkArgs(f *testing.F) {
	for _, s := range []string{"br1 web 10.0.0.1/24", "eth0 -i eth2 -l x -a 6 web 2001:db8::1/64@2001:db8::ff U:h@10",
		"--wait -i eth1", "route web add default via 1.2.3.4", "detach web -i eth1", "mac:aa:bb:cc:dd:ee:ff c dhcp",
		"--direct-phys eth0 c 10.0.0.2/8 @4094", "br1 c 10.0.0.1", "--mode ipvlan eth0 c 1.2.3.4/32@1.2.3.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		s, err := cmdline.Parse(strings.Fields(line))
		if err != nil {
			var ee *cmdline.ExitError
			if !errors.As(err, &ee) || ee.Code != cmdline.ExitUsage || ee.Error() == "" {
				t.Fatalf("bad error %T %v", err, err)
			}
			return
		}
		for _, n := range []string{s.ContainerIf, s.LocalIf, s.HostIf} {
			if len(n) > 15 {
				t.Fatalf("interface name %q longer than 15", n)
			}
		}
		if s.Action == "attach" {
			Plan(s, &State{ContainerID: "c", HostLinks: map[string]Link{"eth0": {Name: "eth0", Type: "device"}}, ContainerLinks: map[string]Link{}})
		}
	})
}
