package command

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// Main runs c with args and returns the exit status: 0 on success or -h,
// 2 for a wrong command line, 1 when the workflow failed (the error goes to
// errOut).
func Main(ctx context.Context, c Command, args []string, out, errOut io.Writer, env Env) int {
	err := c.Run(ctx, out, args, env)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		fmt.Fprintf(errOut, "%s: %v\n", c.Name, err)
		return 2
	default:
		fmt.Fprintf(errOut, "%s: %v\n", c.Name, err)
		return 1
	}
}
