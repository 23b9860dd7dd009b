package pipework

import (
	"context"
	"time"

	"github.com/vishvananda/netlink"

	"swarm/pipework/cmdline"
)

// Wait runs inside a container: it returns once interface ifname exists, is up and has an address, or fails
// with cmdline.ExitWait after timeout.
func Wait(ctx context.Context, ifname string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if ready(ifname) {
			return nil
		}
		select {
		case <-ctx.Done():
			return cmdline.Fail(cmdline.ExitWait, "interface %s was not up with an address within %s", ifname, timeout)
		case <-t.C:
		}
	}
}

func ready(ifname string) bool {
	l, err := netlink.LinkByName(ifname)
	if err != nil || l.Attrs().Flags&(1<<0) == 0 { // net.FlagUp
		return false
	}
	addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if !a.IP.IsLinkLocalUnicast() {
			return true
		}
	}
	return false
}
