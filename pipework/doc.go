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
// HOSTIF is a Linux bridge (br*), an Open vSwitch bridge (ovs*, or known to ovs-vsctl), dummy*, or any other
// interface (macvlan, or ipvlan with --mode ipvlan), as the original's. The command is validated whole before
// anything is touched (cmdline.Parse); Plan turns it and the observed state into steps, applied with netlink
// (netlink_linux.go), and a failed step undoes the ones before it. The container's end is made inside its
// namespace with its final name; the same call twice changes nothing.
//
// Exit codes (every failure is one line on stderr):
//
//	1 bad arguments          2 container not found or not running    3 host interface problem
//	4 applying failed (rolled back)    5 --wait timed out    6 DHCP failed    7 not permitted (run as root)
package pipework
