package pipework

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"swarm/pipework/cmdline"
)

// dhcpScript is run by udhcpc for each lease event. It only configures the container's interface through
// `ip` in the container's network namespace: it never writes the host's (or the container's) resolv.conf.
const dhcpScript = `#!/bin/sh
case "$1" in
deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
bound|renew)
  ip addr flush dev "$interface"
  ip addr add "$ip/$subnet" dev "$interface"
  if [ -n "$router" ]; then set -- $router; ip route replace default via "$1" dev "$interface"; fi ;;
esac
`

// dhcp runs busybox udhcpc in the foreground of a detached process inside the container's network namespace,
// so it renews the lease for as long as the container lives, and waits for the first lease. A watcher beside it
// ends udhcpc once the container's process is gone, so it neither lingers nor pins the namespace.
func dhcp(ctx context.Context, s *cmdline.Spec, c *target, n *nl) error {
	dir := filepath.Join(stateDir, c.id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return cmdline.Fail(cmdline.ExitDHCP, "%v", err)
	}
	script := filepath.Join(dir, "udhcpc.sh")
	if err := os.WriteFile(script, []byte(dhcpScript), 0o755); err != nil {
		return cmdline.Fail(cmdline.ExitDHCP, "%v", err)
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return cmdline.Fail(cmdline.ExitDHCP, "DHCP needs busybox on the host (Debian: busybox-static)")
	}
	udhcpc := []string{busybox, "udhcpc", "-f", "-i", s.ContainerIf, "-x", "hostname:" + c.name, "-s", script,
		"-p", filepath.Join(dir, s.ContainerIf+".pid")}
	if s.DHCPOpts != "" {
		udhcpc = append(udhcpc, strings.Fields(s.DHCPOpts)...)
	}
	// "$@" is udhcpc's command line; $0 is the container's PID, watched from the host's PID namespace.
	watch := `"$@" & u=$!; while kill -0 "$0" 2>/dev/null && kill -0 $u 2>/dev/null; do sleep 2; done; kill $u 2>/dev/null; wait`
	args := append([]string{fmt.Sprintf("--net=/proc/%d/ns/net", c.pid), busybox, "sh", "-c", watch, strconv.Itoa(c.pid)}, udhcpc...)
	cmd := exec.Command("nsenter", args...)
	logf, _ := os.Create(filepath.Join(dir, s.ContainerIf+".log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return cmdline.Fail(cmdline.ExitDHCP, "starting udhcpc: %v", err)
	}
	cmd.Process.Release()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := n.observe(c.id); err == nil && len(st.ContainerLinks[s.ContainerIf].Addrs) > 0 {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return cmdline.Fail(cmdline.ExitDHCP, "no DHCP lease for %s within 30s (see %s)", s.ContainerIf, filepath.Join(dir, s.ContainerIf+".log"))
}
