package pipework

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Open vSwitch bridges are driven through ovs-vsctl, as the original did: a host interface that Open vSwitch
// knows as a bridge (or a missing one named ovs*) gets a veth whose host end is added as a port, tagged with the
// VLAN when one is given. ovs-vsctl finds its database as usual (OVS_RUNDIR, else /var/run/openvswitch).

// errNoOVS says why an Open vSwitch bridge cannot be used.
var errNoOVS = errors.New("ovs-vsctl not found: Open vSwitch bridges need Open vSwitch installed and running")

// ovsVsctl runs ovs-vsctl with a timeout, so a daemon that is not running fails instead of hanging.
func ovsVsctl(args ...string) (string, error) {
	path, err := exec.LookPath("ovs-vsctl")
	if err != nil {
		return "", errNoOVS
	}
	out, err := exec.Command(path, append([]string{"--timeout=10"}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ovs-vsctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// ovsBridges lists the Open vSwitch bridges; none when Open vSwitch is absent or not running.
func ovsBridges() map[string]bool {
	out, err := ovsVsctl("list-br")
	if err != nil {
		return nil
	}
	brs := map[string]bool{}
	for _, b := range strings.Fields(out) {
		brs[b] = true
	}
	return brs
}
