package list

import (
	"context"
	"errors"
)

// Run prints the registered engines once, sorted, one host:port per line.
func Run(ctx context.Context, cfg Config) error {
	return errors.New("list: not implemented yet")
}
