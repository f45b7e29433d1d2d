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
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/thehomelab/homelab/examples/internal/command"
	"github.com/thehomelab/homelab/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit status (see
// command.ExitOK and the others: 0 fine, 1 a problem found, 2 usage or
// configuration error, 3 could not check).
func run(ctx context.Context, args []string, out, errOut io.Writer, env command.Env) int {
	if len(args) > 0 && (args[0] == "-v" || args[0] == "-verbose") {
		// -v: the SDK's one Debug line per call, on stderr, secrets redacted.
		l := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
		ctx = command.WithLogger(ctx, l)
		args = args[1:]
	}
	if len(args) == 0 {
		usage(errOut)
		return command.ExitUsage
	}
	switch name := args[0]; name {
	case "demo":
		if len(args) > 1 && isHelp(args[1]) {
			demoUsage(out)
			return command.ExitOK
		}
		steps, err := pickSteps(args[1:])
		if err != nil {
			fmt.Fprintf(errOut, "homelab demo: %v\n", err)
			return command.ExitUsage
		}
		if err := runDemo(ctx, out, steps); err != nil {
			fmt.Fprintf(errOut, "homelab demo: %v\n", err)
			return command.ExitProblem
		}
		return command.ExitOK
	case "config":
		return runConfig(ctx, args[1:], out, errOut, env)
	case "trust":
		return runTrust(ctx, args[1:], out, errOut)
	case "status":
		return runStatus(ctx, args[1:], out, errOut, env)
	case "watch":
		return runWatch(ctx, args[1:], out, errOut, env)
	case "version", "-version", "--version":
		fmt.Fprintf(out, "homelab %s (%s)\n", version.Version, runtime.Version())
		return command.ExitOK
	case "help", "-h", "-help", "--help":
		usage(out)
		return command.ExitOK
	default:
		c, ok := command.Lookup(name)
		if !ok {
			fmt.Fprintf(errOut, "homelab: unknown command %q\n", name)
			fmt.Fprintln(errOut, "homelab help lists the commands")
			return command.ExitUsage
		}
		return command.Main(ctx, c, args[1:], out, errOut, env)
	}
}

func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" || a == "help" }

func demoUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: homelab demo [workflow...]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Starts the SDK's fakes of every device on 127.0.0.1 (no network, no configuration, no root)")
	fmt.Fprintln(w, "and runs the workflows against them, telling what each did. With names, only those run:")
	fmt.Fprintf(w, "  %s\n", strings.Join(stepNames(), " "))
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: homelab [-v] <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  %-12s %s\n", "demo", "run every workflow against an embedded lab of fakes (no network);")
	fmt.Fprintf(w, "  %-12s %s\n", "", "demo <workflow>... runs only those: "+strings.Join(stepNames(), " "))
	fmt.Fprintf(w, "  %-12s %s\n", "config", "config check validates homelab.yaml; config example prints one")
	fmt.Fprintf(w, "  %-12s %s\n", "trust", "print a device certificate's fingerprint to pin (trust URL|HOST:PORT)")
	fmt.Fprintf(w, "  %-12s %s\n", "status", "the whole lab on one screen, from homelab.yaml (-json for scripts)")
	fmt.Fprintf(w, "  %-12s %s\n", "watch", "the service: UPS guard, DDNS, checks alerting on a change (SIGHUP reloads)")
	for _, c := range command.All() {
		fmt.Fprintf(w, "  %-12s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintf(w, "  %-12s %s\n", "version", "print the SDK's version")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "homelab <command> -h shows the command's flags and environment.")
	fmt.Fprintln(w, "-v logs every SDK call (one debug line each, secrets redacted) on stderr.")
	fmt.Fprintln(w, "Exit status: 0 fine, 1 a problem found (leak, degraded array, drift) or the work failed,")
	fmt.Fprintln(w, "2 usage or configuration error, 3 could not check (unreachable, credentials, TLS).")
}
