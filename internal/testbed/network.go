package testbed

import "fmt"

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
