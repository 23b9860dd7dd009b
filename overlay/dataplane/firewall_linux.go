package dataplane

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
)

// IPTables is a Firewall through the iptables command, the variant the engine itself uses (legacy or nf_tables):
// one rule `FORWARD -i BRIDGE -o BRIDGE -j ACCEPT` per network, inserted first. Prefix runs the command
// elsewhere (e.g. nsenter --net=PATH); empty runs it in this process's network namespace.
type IPTables struct{ Prefix []string }

// AllowBridge inserts the rule unless it is there.
func (f IPTables) AllowBridge(bridge string) error {
	if f.run("-C", bridge) == nil {
		return nil
	}
	return f.run("-I", bridge)
}

// RevokeBridge deletes the rule while it is there.
func (f IPTables) RevokeBridge(bridge string) error {
	for f.run("-C", bridge) == nil {
		if err := f.run("-D", bridge); err != nil {
			return err
		}
	}
	return nil
}

func (f IPTables) run(op, bridge string) error {
	args := append(append([]string{}, f.Prefix...), "iptables", "-w", "5", op, "FORWARD")
	if op == "-I" {
		args = append(args, "1")
	}
	args = append(args, "-i", bridge, "-o", bridge, "-j", "ACCEPT", "-m", "comment", "--comment", "swarm cluster network")
	cmd := exec.Command(args[0], args[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("iptables %s FORWARD for %s: %w: %s", op, bridge, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
