package pipework

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"swarm/pipework/cmdline"
)

// ContainerInspector is the part of the Docker API pipework needs: *client.Client has it.
type ContainerInspector interface {
	ContainerInspect(ctx context.Context, container string) (container.InspectResponse, error)
}

// RunCLI runs one pipework command line (the arguments after the program name), reaching the engine as the docker
// CLI would ($DOCKER_HOST and friends, or --docker-host). Failures are printed as one line on stderr and returned
// as *cmdline.ExitError with the exit code of their class.
func RunCLI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if err := runCLI(ctx, args, stdout); err != nil {
		ee := exitError(err)
		fmt.Fprintln(stderr, "pipework:", strings.ReplaceAll(ee.Error(), "\n", " "))
		return ee
	}
	return nil
}

func runCLI(ctx context.Context, args []string, stdout io.Writer) error {
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
		return Run(ctx, s, nil) // inside a container: no Docker API
	}
	docker, err := dockerClient(s.DockerHost)
	if err != nil {
		return err
	}
	defer docker.Close()
	return Run(ctx, s, docker)
}

// dockerClient is the docker CLI's client: the environment ($DOCKER_HOST, $DOCKER_TLS_VERIFY, ...), then host.
func dockerClient(host string) (*client.Client, error) {
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, cmdline.Fail(cmdline.ExitContainer, "docker client: %v", err)
	}
	return cli, nil
}

// Run carries out one parsed command. Its container is found through docker, a client the caller built for the
// engine with whatever address and TLS it needs (s.DockerHost is not used); --wait runs inside a container and
// uses none. Nothing is printed: a failure is a *cmdline.ExitError with the exit code of its class.
func Run(ctx context.Context, s *cmdline.Spec, docker ContainerInspector) error {
	if err := execute(ctx, s, docker); err != nil {
		return exitError(err)
	}
	return nil
}

// exitError classes an error that has no exit code of its own as a failure to apply.
func exitError(err error) *cmdline.ExitError {
	var ee *cmdline.ExitError
	if !errors.As(err, &ee) {
		ee = &cmdline.ExitError{Code: cmdline.ExitApply, Err: err}
	}
	return ee
}

func execute(ctx context.Context, s *cmdline.Spec, docker ContainerInspector) error {
	if s.Action == "wait" {
		return Wait(ctx, s.ContainerIf, s.Timeout)
	}
	c, err := resolve(ctx, s, docker)
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
	docker  ContainerInspector
	ref, id string
	name    string
	pid     int
}

// resolve finds the container through the Docker API; it must be running.
func resolve(ctx context.Context, s *cmdline.Spec, docker ContainerInspector) (*target, error) {
	in, err := docker.ContainerInspect(ctx, s.Container)
	if err != nil {
		return nil, cmdline.Fail(cmdline.ExitContainer, "container %s: %v", s.Container, err)
	}
	if in.State == nil || !in.State.Running || in.State.Pid == 0 {
		return nil, cmdline.Fail(cmdline.ExitContainer, "container %s is not running", s.Container)
	}
	return &target{docker: docker, ref: s.Container, id: in.ID, name: strings.TrimPrefix(in.Name, "/"), pid: in.State.Pid}, nil
}

// recheck confirms, once the namespace is open, that it still belongs to the same running container.
func (t *target) recheck(ctx context.Context) error {
	in, err := t.docker.ContainerInspect(ctx, t.id)
	if err != nil || in.State == nil || !in.State.Running || in.State.Pid != t.pid {
		return cmdline.Fail(cmdline.ExitContainer, "container %s restarted or stopped while pipework ran; try again", t.ref)
	}
	return nil
}
