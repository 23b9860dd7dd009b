// Package pipework gives a running container an extra network interface with a fixed IP on a host bridge
// or interface, with netlink (no ip/brctl scripts), keeping the original pipework's command line:
//
//	pipework HOSTIF [-i CIF] [-l LOCALIF] [-a 4|6] CONTAINER IP/LEN[@GW] [MAC][@VLAN]
//	pipework HOSTIF [-i CIF] [-l LOCALIF] CONTAINER dhcp[:OPTS] [MAC][@VLAN]
//	pipework route|rule CONTAINER ARGS...          pipework --wait [-i CIF] [--timeout 60s]
//	pipework detach CONTAINER [-i CIF]
//
// The grammar (Spec, Parse, the exit codes) is package cmdline. RunCLI runs a command line and finds the
// container as the docker CLI would ($DOCKER_HOST, --docker-host); Run runs a parsed command through a Docker
// client the caller built, as `swarm join --pipework` does with its own (TLS included) to apply the
// com.docker.swarm.pipework label. Leases and pools of those addresses in Consul live in package lease,
// `swarm pipework pool add|ls|rm` in the command line (internal/cli).
//
// HOSTIF kinds, as the original: a Linux bridge (created when missing and named br*), an Open vSwitch bridge
// (known to ovs-vsctl, or created when missing and named ovs*; the veth's host end becomes a port, tagged with
// @VLAN), dummy*, or any other interface (macvlan, or ipvlan with --mode ipvlan; @VLAN adds HOSTIF.VLAN).
// HOSTIF may be mac:HOSTMAC; MAC may be U:STRING (a stable MAC derived from STRING). Options --direct-phys
// (move the physical interface itself), --mode ipvlan (instead of macvlan) and --docker-host come first.
//
// Where the original went wrong, this one does not: cmdline.Parse validates everything before anything is
// touched; Plan turns a Spec and the observed state into steps; the steps are applied with netlink
// (netlink_linux.go), and every step already done is undone if a later one fails. The container end is created directly inside the container's
// namespace with its final name, so a name clash fails before the host changes. The same call twice changes
// nothing. Interface names are derived from the container ID and are at most 15 characters. The default route
// is replaced only when a gateway is given, and the previous one is kept for detach. The container is found
// through the Docker API (one inspect for PID and state, checked again once its namespace is open).
//
// Exit codes (every failure is one line on stderr):
//
//	1 bad arguments          2 container not found or not running    3 host interface problem
//	4 applying failed (rolled back)    5 --wait timed out    6 DHCP failed    7 not permitted (run as root)
package pipework
