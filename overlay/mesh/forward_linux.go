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
// bridges, and one first in INPUT that drops what reaches 127.0.0.0/8 through the bridges other than the
// replies of translated connections (the bridges route 127.0.0.0/8 so that a published port answers on
// localhost: see Mesh.Apply; without this rule a container could reach the host's loopback services):
//
//	-o swbr+ -m conntrack --ctstate DNAT -m comment --comment "swarm routing mesh" -j ACCEPT
//	-i swbr+ -m conntrack --ctstate DNAT -m comment --comment "swarm routing mesh" -j ACCEPT
//	-i swbr+ -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -m comment --comment "swarm routing mesh" -j DROP   (INPUT)
//
// Prefix runs the command elsewhere (e.g. nsenter --net=PATH); empty runs it in this process's namespace.
type IPTables struct {
	Prefix     []string
	Interfaces string // "" = DefaultInterfaces
}

// iptRule is one of the rules: its chain and its specification.
type iptRule struct {
	chain string
	spec  []string
}

func (f IPTables) rules() []iptRule {
	ifs := f.Interfaces
	if ifs == "" {
		ifs = DefaultInterfaces
	}
	comment := []string{"-m", "comment", "--comment", "swarm routing mesh"}
	accept := func(dir string) []string {
		return append(append([]string{dir, ifs, "-m", "conntrack", "--ctstate", "DNAT"}, comment...), "-j", "ACCEPT")
	}
	guard := append(append([]string{"-i", ifs, "-d", "127.0.0.0/8", "-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED,DNAT"},
		comment...), "-j", "DROP")
	return []iptRule{{"FORWARD", accept("-o")}, {"FORWARD", accept("-i")}, {"INPUT", guard}}
}

// Allow inserts each rule unless it is there.
func (f IPTables) Allow() error {
	for _, r := range f.rules() {
		present, err := f.present(r)
		if err != nil {
			return err
		}
		if !present {
			if err := f.run("-I", r); err != nil {
				return err
			}
		}
	}
	return nil
}

// Revoke deletes each rule while it is there.
func (f IPTables) Revoke() error {
	for _, r := range f.rules() {
		for {
			present, err := f.present(r)
			if err != nil {
				return err
			}
			if !present {
				break
			}
			if err := f.run("-D", r); err != nil {
				return err
			}
		}
	}
	return nil
}

// present checks the rule with -C: exit status 1 means absent, other failures are errors.
func (f IPTables) present(r iptRule) (bool, error) {
	err := f.run("-C", r)
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return false, nil
	}
	return err == nil, err
}

func (f IPTables) run(op string, r iptRule) error {
	args := append(append([]string{}, f.Prefix...), "iptables", "-w", "5", op, r.chain)
	if op == "-I" {
		args = append(args, "1")
	}
	args = append(args, r.spec...)
	cmd := exec.Command(args[0], args[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("iptables %s %s %s: %w: %s", op, r.chain, strings.Join(r.spec[:2], " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
