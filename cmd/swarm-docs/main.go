// Command swarm-docs prints docs/reference.md from the CLI's flag tables, so the reference cannot drift.
package main

import (
	"os"

	"swarm/internal/cli"
)

func main() { cli.Reference(os.Stdout) }
