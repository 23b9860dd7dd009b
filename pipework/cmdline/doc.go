// Package cmdline is pipework's command-line grammar: Parse turns the arguments of one pipework command into a
// Spec, or fails with an *ExitError of code ExitUsage whose message says what is wrong. It does no I/O and touches
// no interface, so packages that only validate a command (the com.docker.swarm.pipework label) need not import
// the netlink code. The exit codes, ExitError and Usage are shared with package pipework, which runs a Spec.
package cmdline
