// Command homelab is the thin CLI over the homelab workflows.
//
//	go run ./examples/homelab demo          # every workflow against an embedded lab of fakes
//	go run ./examples/homelab demo powerloss  # only the named workflows
//	go run ./examples/homelab ddns -h       # one workflow against real devices
//
// demo needs no network, no configuration and no root: it starts the SDK's
// fakes on 127.0.0.1 and tells what each workflow did. The other
// subcommands read device addresses from flags and credentials from the
// environment; they are the same code as the programs in examples/<name>.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/thehomelab/homelab/examples/internal/command"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit status.
func run(ctx context.Context, args []string, out, errOut io.Writer, env command.Env) int {
	if len(args) == 0 {
		usage(errOut)
		return 2
	}
	switch name := args[0]; name {
	case "demo":
		steps, err := pickSteps(args[1:])
		if err != nil {
			fmt.Fprintf(errOut, "homelab demo: %v\n", err)
			return 2
		}
		if err := runDemo(ctx, out, steps); err != nil {
			fmt.Fprintf(errOut, "homelab demo: %v\n", err)
			return 1
		}
		return 0
	case "help", "-h", "-help", "--help":
		usage(out)
		return 0
	default:
		c, ok := command.Lookup(name)
		if !ok {
			fmt.Fprintf(errOut, "homelab: unknown command %q\n", name)
			usage(errOut)
			return 2
		}
		return command.Main(ctx, c, args[1:], out, errOut, env)
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: homelab <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  %-12s %s\n", "demo", "run every workflow against an embedded lab of fakes (no network);")
	fmt.Fprintf(w, "  %-12s %s\n", "", "demo <workflow>... runs only those: "+strings.Join(stepNames(), " "))
	for _, c := range command.All() {
		fmt.Fprintf(w, "  %-12s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "homelab <command> -h shows the command's flags and environment.")
}
