package pipework

import (
	"context"
	"errors"
	"io"
)

// ExitError carries the process exit code of a failed pipework command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// RunCLI runs one pipework command line (arguments after the program name).
func RunCLI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return &ExitError{Code: 1, Err: errors.New("pipework: not implemented yet")}
}
