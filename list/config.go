package list

import (
	"io"
	"log/slog"
	"time"
)

// Config is everything `swarm list` needs.
type Config struct {
	Discovery     string
	DiscoveryOpts map[string]string
	Timeout       time.Duration // give up when no list arrives within it
	Out           io.Writer     // where entries are printed, one per line
	Logger        *slog.Logger
}
