package manage

import (
	"context"
	"errors"
)

// Run serves the cluster API until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	return errors.New("manage: not implemented yet")
}
