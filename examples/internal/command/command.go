// Package command runs the workflows against real devices: it reads
// addresses from flags and credentials from the environment (never from
// flags, which other users of the machine can see in ps), connects the
// clients and calls package workflow. Each examples/<workflow> program and
// the matching homelab subcommand share one Command.
package command

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Env looks up an environment variable; os.Getenv in the programs, a map in
// tests.
type Env func(key string) string

// Command is one workflow run against real devices.
type Command struct {
	// Name is the subcommand, e.g. "ddns".
	Name string
	// Summary is a one-line description for usage.
	Summary string
	// Run parses args and runs the workflow, telling its story on out.
	Run func(ctx context.Context, out io.Writer, args []string, env Env) error
}

// All returns the commands in the order the demo runs their workflows.
func All() []Command {
	return []Command{DDNS(), ACME(), WireGuard(), Isolation(), Inventory(), Passthrough(), NASHealth(), Share(), Expose(), Shutdown(), PowerLoss()}
}

// Lookup returns the command called name.
func Lookup(name string) (Command, bool) {
	for _, c := range All() {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

// ErrUsage marks a wrong command line; the programs exit with status 2.
var ErrUsage = errors.New("usage")

func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUsage}, args...)...)
}

// newFlags returns a flag set that reports to out and returns errors.
func newFlags(name string, out io.Writer, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "usage: %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args; a parse error is wrapped in ErrUsage (flag has printed
// it), -h returns flag.ErrHelp.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return usageError("unexpected arguments %q", fs.Args())
	}
	return nil
}

// need returns the environment variable key or an error naming it.
func need(env Env, key, what string) (string, error) {
	v := strings.TrimSpace(env(key))
	if v == "" {
		return "", fmt.Errorf("set %s to %s", key, what)
	}
	return v, nil
}

// list splits a comma-separated flag value.
func list(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
