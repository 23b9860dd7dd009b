package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"swarm/discovery"
	"swarm/internal/version"
	"swarm/join"
	"swarm/list"
	"swarm/manage"
	"swarm/pipework"
)

// Env is what a command line runs with; tests fill it with buffers and a fake environment.
type Env struct {
	Program string              // argv[0], for messages and --version
	Getenv  func(string) string // environment lookup
	Stdout  io.Writer
	Stderr  io.Writer
}

// UsageError is a bad command line: the message is printed on stderr and the process exits with code 1.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

// runners are the packages' entry points; tests replace them to check the Config a command line produces.
type runners struct {
	manage   func(context.Context, manage.Config) error
	join     func(context.Context, join.Config) error
	list     func(context.Context, list.Config) error
	pipework func(context.Context, []string, io.Writer, io.Writer) error
}

var defaultRunners = runners{manage: manage.Run, join: join.Run, list: list.Run, pipework: pipework.RunCLI}

// Run parses args (without the program name) and runs the command they name.
func Run(ctx context.Context, env Env, args []string) error {
	return run(ctx, env, args, defaultRunners)
}

func run(ctx context.Context, env Env, args []string, r runners) error {
	app := appName(env.Program)
	if app == "pipework" { // invoked through a pipework symlink
		return r.pipework(ctx, args, env.Stdout, env.Stderr)
	}
	g, rest, err := parseGlobals(args, env.Getenv)
	if err != nil {
		return usagef("%v. See '%s --help'.", err, app)
	}
	switch {
	case g.Bool("version"):
		fmt.Fprintf(env.Stdout, "%s version %s (%s)\n", app, version.Version, version.Commit)
		return nil
	case len(rest) == 0 || g.Bool("help"):
		return printAppHelp(env.Stdout, app)
	}
	cmd := findCommand(rest[0])
	if cmd == nil {
		return usagef("'%s' is not a %s command. See '%s --help'.", rest[0], app, app)
	}
	if cmd.RawArgs && len(rest) > 1 && rest[1] == "pool" {
		return runPool(rest[2:], env.Stdout, env.Stderr)
	}
	if cmd.RawArgs {
		return r.pipework(ctx, rest[1:], env.Stdout, env.Stderr)
	}
	if cmd == &helpCmd {
		return runHelp(env.Stdout, app, rest[1:])
	}
	fv, pos, err := parse(cmd.Flags, rest[1:], env.Getenv)
	if err != nil {
		return usagef("%v. See '%s %s --help'.", err, app, cmd.Name)
	}
	if fv.Bool("help") {
		return printCommandHelp(env.Stdout, app, cmd)
	}
	logger, err := newLogger(g, env.Stderr)
	if err != nil {
		return err
	}
	return dispatch(ctx, env, app, cmd, g, fv, pos, logger, r)
}

func dispatch(ctx context.Context, env Env, app string, cmd *command, g, fv values, pos []string, logger *slog.Logger, r runners) error {
	switch cmd {
	case &createCmd:
		return errors.New(tokenGone)
	case &joinCmd:
		if fv.Bool("print-mesh") { // reads this host's kernel only: no discovery, no engine
			return r.join(ctx, join.Config{PrintMesh: env.Stdout, Logger: logger})
		}
		cfg, err := joinConfig(app, fv, pos, env.Getenv)
		if err != nil {
			return err
		}
		cfg.Logger = logger
		return r.join(ctx, cfg)
	case &listCmd:
		cfg, err := listConfig(app, fv, pos, env.Getenv)
		if err != nil {
			return err
		}
		cfg.Logger, cfg.Out = logger, env.Stdout
		return r.list(ctx, cfg)
	default:
		cfg, err := manageConfig(app, fv, pos, env.Getenv)
		if err != nil {
			return err
		}
		cfg.Logger, cfg.Experimental, cfg.Debug = logger, g.Bool("experimental"), g.Bool("debug")
		return r.manage(ctx, cfg)
	}
}

// tokenGone is said wherever the original offered the hosted token service.
var tokenGone = discovery.ErrTokenGone.Error()

func appName(program string) string {
	if program == "" {
		return "swarm"
	}
	return filepath.Base(program)
}

func parseGlobals(args []string, getenv func(string) string) (values, []string, error) {
	// Globals end at the first non-flag word (the command); parse them alone so command flags are left alone.
	i := 0
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "-" {
		name := strings.TrimLeft(strings.SplitN(args[i], "=", 2)[0], "-")
		if !strings.Contains(args[i], "=") && takesValue(name) {
			i++
		}
		i++
	}
	if i > len(args) {
		i = len(args)
	}
	g, pos, err := parse(globalFlags, args[:i], getenv)
	if err != nil {
		return nil, nil, err
	}
	return g, append(pos, args[i:]...), nil
}

func takesValue(name string) bool {
	for _, d := range globalFlags {
		for _, n := range d.Names {
			if n == name {
				return d.Kind != kBool
			}
		}
	}
	return false
}
