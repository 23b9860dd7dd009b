// Package version holds the build's version, set at link time by the Makefile.
package version

// Version is the release this tree builds; Commit is the git commit, set with
// -ldflags "-X swarm/internal/version.Commit=<sha>".
var (
	Version = "2.0.0-dev"
	Commit  = "unknown"
)

// APIVersion is the Docker Remote API version the manager advertises. 1.44 is
// the oldest version every Docker CLI from 20.10 through 29.x accepts.
const APIVersion = "1.47"

// MinAPIVersion is the oldest /vX.Y prefix the manager accepts.
const MinAPIVersion = "1.24"
