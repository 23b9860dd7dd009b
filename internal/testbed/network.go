package testbed

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// network creates the slot's bridge (the "LAN") with the host's address on it, and lets frames between the
// test hosts through even when a dockerd in the host namespace set FORWARD to DROP.
func (b *Bed) network() error {
	steps := [][]string{
		{"ip", "link", "add", b.Bridge, "type", "bridge"},
		{"ip", "addr", "add", b.BridgeIP + "/24", "dev", b.Bridge},
		{"ip", "link", "set", b.Bridge, "up"},
		{"iptables", "-I", "FORWARD", "-i", b.Bridge, "-o", b.Bridge, "-j", "ACCEPT"},
	}
	for _, s := range steps {
		if err := run(s[0], s[1:]...); err != nil {
			return err
		}
	}
	return roomForNeighbours()
}

// neighbourFloors are the least ARP-table thresholds a bed runs with. The kernel keeps one ARP table for all
// network namespaces, and on a bed one kernel holds every "host" and every container: 60 containers each
// reaching 19 others already pass the default gc_thresh3 (1,024), after which new entries are refused ("neighbor
// table overflow" in the kernel log) and pings and lookups fail for seconds. Each real host has a table of its own.
var neighbourFloors = []struct {
	name  string
	least int
}{{"gc_thresh1", 4096}, {"gc_thresh2", 16384}, {"gc_thresh3", 32768}}

// roomForNeighbours raises the machine's ARP-table thresholds to neighbourFloors where they are lower; it never
// lowers them (beds of other slots share them) and leaves them raised.
func roomForNeighbours() error {
	for _, f := range neighbourFloors {
		path := "/proc/sys/net/ipv4/neigh/default/" + f.name
		raw, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		if n, err := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil && n >= f.least {
			continue
		}
		if err := os.WriteFile(path, []byte(strconv.Itoa(f.least)), 0o644); err != nil {
			return fmt.Errorf("raising %s (one ARP table serves every namespace of the bed): %w", path, err)
		}
	}
	return nil
}

// hostNamespace puts one engine's namespace on the bridge with its own IP and a default route via the host.
func (b *Bed) hostNamespace(ns, veth, ip string) error {
	in := func(args ...string) []string {
		return append([]string{"nsenter", "--net=/var/run/netns/" + ns}, args...)
	}
	steps := [][]string{
		{"ip", "netns", "add", ns},
		{"ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"ip", "link", "set", veth, "master", b.Bridge, "up"},
		in("ip", "link", "set", "lo", "up"),
		in("ip", "addr", "add", ip+"/24", "dev", "eth0"),
		in("ip", "link", "set", "eth0", "up"),
		in("ip", "route", "add", "default", "via", b.BridgeIP),
	}
	for _, s := range steps {
		if err := run(s[0], s[1:]...); err != nil {
			return fmt.Errorf("namespace %s: %w", ns, err)
		}
	}
	return nil
}
