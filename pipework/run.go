package pipework

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/docker/docker/client"

	"swarm/pipework/cmdline"
)

// RunCLI runs one pipework command line (the arguments after the program name). Failures are printed as one
// line on stderr and returned as *cmdline.ExitError with the exit code of their class.
func RunCLI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	err := run(ctx, args, stdout)
	if err != nil {
		var ee *cmdline.ExitError
		if !errors.As(err, &ee) {
			ee = &cmdline.ExitError{Code: cmdline.ExitApply, Err: err}
		}
		fmt.Fprintln(stderr, "pipework:", strings.ReplaceAll(ee.Error(), "\n", " "))
		return ee
	}
	return nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stdout, cmdline.Usage)
		if len(args) == 0 {
			return &cmdline.ExitError{Code: cmdline.ExitUsage, Err: errors.New("no arguments")}
		}
		return nil
	}
	s, err := cmdline.Parse(args)
	if err != nil {
		return err
	}
	if s.Action == "wait" {
		return Wait(ctx, s.ContainerIf, s.Timeout)
	}
	c, err := resolve(ctx, s)
	if err != nil {
		return err
	}
	switch s.Action {
	case "route", "rule":
		cmd := exec.CommandContext(ctx, "nsenter", append([]string{fmt.Sprintf("--net=/proc/%d/ns/net", c.pid), "ip", s.Action}, s.Args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return cmdline.Fail(cmdline.ExitApply, "ip %s %s: %s", s.Action, strings.Join(s.Args, " "), strings.TrimSpace(string(out)))
		}
		return nil
	}
	n, err := openNetlink(c.pid)
	if err != nil {
		return err
	}
	defer n.close()
	if err := c.recheck(ctx); err != nil {
		return err
	}
	if s.Action == "detach" {
		return n.detach(s, c.id)
	}
	return attach(ctx, s, c, n)
}

func attach(ctx context.Context, s *cmdline.Spec, c *target, n *nl) error {
	if s.HostMAC != "" {
		name, err := hostByMAC(n, s.HostMAC)
		if err != nil {
			return err
		}
		s.HostIf = name
	}
	st, err := n.observe(c.id)
	if err != nil {
		return err
	}
	steps, err := Plan(s, st)
	if err != nil || len(steps) == 0 {
		return err // nothing to do: the container already has exactly this interface
	}
	if err := n.apply(s, steps); err != nil {
		return err
	}
	if s.DHCP {
		return dhcp(ctx, s, c, n)
	}
	return nil
}

func hostByMAC(n *nl, mac string) (string, error) {
	links, err := n.host.LinkList()
	if err != nil {
		return "", permission(err)
	}
	for _, l := range links {
		if strings.EqualFold(l.Attrs().HardwareAddr.String(), mac) {
			return l.Attrs().Name, nil
		}
	}
	return "", cmdline.Fail(cmdline.ExitHostIf, "Mac address %s specified for interface but no host interface matched.", mac)
}

// target is the container being changed.
type target struct {
	cli     *client.Client
	ref, id string
	name    string
	pid     int
}

// resolve finds the container through the Docker API; it must be running.
func resolve(ctx context.Context, s *cmdline.Spec) (*target, error) {
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if s.DockerHost != "" {
		opts = append(opts, client.WithHost(s.DockerHost))
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, cmdline.Fail(cmdline.ExitContainer, "docker client: %v", err)
	}
	in, err := cli.ContainerInspect(ctx, s.Container)
	if err != nil {
		return nil, cmdline.Fail(cmdline.ExitContainer, "container %s: %v", s.Container, err)
	}
	if in.State == nil || !in.State.Running || in.State.Pid == 0 {
		return nil, cmdline.Fail(cmdline.ExitContainer, "container %s is not running", s.Container)
	}
	return &target{cli: cli, ref: s.Container, id: in.ID, name: strings.TrimPrefix(in.Name, "/"), pid: in.State.Pid}, nil
}

// recheck confirms, once the namespace is open, that it still belongs to the same running container.
func (t *target) recheck(ctx context.Context) error {
	in, err := t.cli.ContainerInspect(ctx, t.id)
	if err != nil || in.State == nil || !in.State.Running || in.State.Pid != t.pid {
		return cmdline.Fail(cmdline.ExitContainer, "container %s restarted or stopped while pipework ran; try again", t.ref)
	}
	return nil
}
