package mesh

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// DefaultInterfaces is the iptables interface pattern of IPTables when Interfaces is empty.
const DefaultInterfaces = "swbr+"

// IPTables is a Forwarder through the iptables command (legacy or nf_tables, as the engine uses): two rules
// inserted first in FORWARD, accepting the connections whose destination was translated, out to and in from the
// bridges:
//
//	-o swbr+ -m conntrack --ctstate DNAT -m comment --comment "swarm routing mesh" -j ACCEPT
//	-i swbr+ -m conntrack --ctstate DNAT -m comment --comment "swarm routing mesh" -j ACCEPT
//
// Prefix runs the command elsewhere (e.g. nsenter --net=PATH); empty runs it in this process's namespace.
type IPTables struct {
	Prefix     []string
	Interfaces string // "" = DefaultInterfaces
}

// Allow inserts each rule unless it is there.
func (f IPTables) Allow() error {
	for _, dir := range []string{"-o", "-i"} {
		present, err := f.present(dir)
		if err != nil {
			return err
		}
		if !present {
			if err := f.run("-I", dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// Revoke deletes each rule while it is there.
func (f IPTables) Revoke() error {
	for _, dir := range []string{"-o", "-i"} {
		for {
			present, err := f.present(dir)
			if err != nil {
				return err
			}
			if !present {
				break
			}
			if err := f.run("-D", dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// present checks the rule with -C: exit status 1 means absent, other failures are errors.
func (f IPTables) present(dir string) (bool, error) {
	err := f.run("-C", dir)
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return false, nil
	}
	return err == nil, err
}

func (f IPTables) run(op, dir string) error {
	ifs := f.Interfaces
	if ifs == "" {
		ifs = DefaultInterfaces
	}
	args := append(append([]string{}, f.Prefix...), "iptables", "-w", "5", op, "FORWARD")
	if op == "-I" {
		args = append(args, "1")
	}
	args = append(args, dir, ifs, "-m", "conntrack", "--ctstate", "DNAT",
		"-m", "comment", "--comment", "swarm routing mesh", "-j", "ACCEPT")
	cmd := exec.Command(args[0], args[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("iptables %s FORWARD %s %s: %w: %s", op, dir, ifs, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
