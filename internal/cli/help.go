package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"swarm/internal/version"
)

func printAppHelp(w io.Writer, app string) error {
	fmt.Fprintf(w, "NAME:\n   %s - a Docker-native clustering system (classic Swarm, backed by Consul)\n\n", app)
	fmt.Fprintf(w, "USAGE:\n   %s [global options] command [command options] [arguments...]\n\n", app)
	fmt.Fprintf(w, "VERSION:\n   %s (%s)\n\nCOMMANDS:\n", version.Version, version.Commit)
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "   %s\t%s\n", strings.Join(append([]string{c.Name}, c.Aliases...), ", "), c.Usage)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nGLOBAL OPTIONS:\n")
	printFlags(w, globalFlags)
	return nil
}

func printCommandHelp(w io.Writer, app string, c *command) error {
	fmt.Fprintf(w, "NAME:\n   %s %s - %s\n\n", app, c.Name, c.Usage)
	fmt.Fprintf(w, "USAGE:\n   %s %s [command options] %s\n", app, c.Name, c.ArgsUsage)
	if len(c.Flags) > 0 {
		fmt.Fprintf(w, "\nOPTIONS:\n")
		printFlags(w, c.Flags)
	}
	return nil
}

func runHelp(w io.Writer, app string, args []string) error {
	if len(args) == 0 {
		return printAppHelp(w, app)
	}
	c := findCommand(args[0])
	if c == nil {
		return usagef("no help topic for '%s'", args[0])
	}
	return printCommandHelp(w, app, c)
}

func printFlags(w io.Writer, defs []flagDef) {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	for _, d := range defs {
		fmt.Fprintf(tw, "   %s\t%s\n", flagSynopsis(d), flagDescription(d))
	}
	tw.Flush()
}

func flagSynopsis(d flagDef) string {
	names := make([]string, len(d.Names))
	for i, n := range d.Names {
		names[i] = "--" + n
		if len(n) == 1 {
			names[i] = "-" + n
		}
	}
	s := strings.Join(names, ", ")
	if d.Kind != kBool {
		s += " value"
	}
	return s
}

func flagDescription(d flagDef) string {
	s := d.Usage
	if d.Default != "" && d.Kind != kBool {
		s += fmt.Sprintf(" (default: %q)", d.Default)
	}
	if d.Env != "" {
		s += " [$" + d.Env + "]"
	}
	return s
}

// Reference writes the Markdown reference of every command and flag, generated from the tables above.
func Reference(w io.Writer) {
	fmt.Fprintf(w, "# Command reference\n\nGenerated from the CLI's own flag tables by `make docs`; do not edit.\n\n")
	fmt.Fprintf(w, "Flags take one or two dashes (`-H` or `--host`), `--flag=value` or `--flag value`, and may follow the\n")
	fmt.Fprintf(w, "discovery argument. Repeatable flags are marked.\n\n## Global options\n\n")
	referenceFlags(w, globalFlags)
	for _, c := range commands {
		if c == &helpCmd {
			continue
		}
		fmt.Fprintf(w, "## swarm %s", c.Name)
		if len(c.Aliases) > 0 {
			fmt.Fprintf(w, " (alias: %s)", strings.Join(c.Aliases, ", "))
		}
		fmt.Fprintf(w, "\n\n%s.\n\n```\nswarm %s [options] %s\n```\n\n", c.Usage, c.Name, c.ArgsUsage)
		if len(c.Flags) > 0 {
			referenceFlags(w, c.Flags)
		}
	}
}

func referenceFlags(w io.Writer, defs []flagDef) {
	fmt.Fprintf(w, "| flag | default | env | description |\n|---|---|---|---|\n")
	for _, d := range defs {
		def := d.Default
		if d.Kind == kBool {
			def = "false"
		}
		usage := d.Usage
		if d.Kind == kList {
			usage += " (repeatable)"
		}
		fmt.Fprintf(w, "| `%s` | `%s` | %s | %s |\n", flagSynopsis(d), def, d.Env, strings.ReplaceAll(usage, "|", "\\|"))
	}
	fmt.Fprintln(w)
}
