// Package command runs the workflows against real devices: it reads
// addresses from flags and credentials from the environment (never from
// flags, which other users of the machine can see in ps), connects the
// clients and calls package workflow. When a homelab.yaml is found (-config,
// $HOMELAB_CONFIG, ./homelab.yaml, ~/.config/homelab/homelab.yaml) every
// command reads it: it gives the defaults of the device flags, the login
// names and the secrets; flags given on the command line override it. Each examples/<workflow> program and
// the matching homelab subcommand share one Command.
package command

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/thehomelab/homelab/examples/internal/config"
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
	Run func(ctx context.Context, out, errOut io.Writer, args []string, env Env) error
}

// All returns the commands in the order the demo runs their workflows.
func All() []Command {
	return []Command{DDNS(), ACME(), WireGuard(), Isolation(), Inventory(), Passthrough(), NASHealth(), Share(), Expose(), Backup(), Shutdown(), PowerLoss()}
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

// errPrinted marks an error the flag package has already printed with the
// usage, so Main does not print it a second time.
var errPrinted = errors.New("already printed")

func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUsage}, args...)...)
}

// flagSet is a flag.FlagSet that knows where its usage goes: to out when
// the user asked for it with -h, to errOut with an error.
type flagSet struct {
	*flag.FlagSet
	out, errOut io.Writer
	usage       string
	// env is the command's environment; getenv folds the config in.
	env Env
	// cfg is the config read by parse, nil when none was found.
	cfg *config.Config
}

// newFlags returns a flag set that returns errors instead of exiting. It
// has the -config flag; parse reads the config and applies it.
func newFlags(name string, out, errOut io.Writer, env Env, usage string) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), out: out, errOut: errOut, usage: usage, env: env}
	fs.SetOutput(io.Discard)
	fs.String("config", "", configUsage)
	return fs
}

func (fs *flagSet) printUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n", fs.usage)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parse parses args, then reads the config (see loadConfig): flags given
// override it, and it supplies the defaults of the others and the secrets. -h prints the usage on out and returns flag.ErrHelp;
// a wrong flag prints the error and the usage on errOut, once, and returns
// an error wrapping ErrUsage.
func parse(fs *flagSet, args []string) error {
	if err := parsePositional(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected arguments %q", fs.Args())
	}
	return nil
}

// parsePositional is parse for commands that take arguments after the flags.
func parsePositional(fs *flagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.printUsage(fs.out)
			return err
		}
		fmt.Fprintf(fs.errOut, "%s: %v\n", fs.Name(), err)
		fs.printUsage(fs.errOut)
		return fmt.Errorf("%w: %w: %v", ErrUsage, errPrinted, err)
	}
	return fs.loadConfig()
}

// need returns the environment variable key or an error naming it. A
// missing setting is a configuration error: it wraps ErrUsage (status 2),
// as in the programs in examples/<name>.
func need(env Env, key, what string) (string, error) {
	v := strings.TrimSpace(env(key))
	if v == "" {
		return "", usageError("set %s to %s", key, what)
	}
	return v, nil
}

// clientError is what a constructor (NewClient, Dial) returned. A bad URL,
// address or fingerprint matches the package's ErrInvalid: a configuration
// error, status 2, as in the programs in examples/<name>. The SDK's text
// names its package already, so no second prefix is put before it.
func clientError(err, invalid error) error {
	if errors.Is(err, invalid) {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	return err
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
