// Command shutdown shuts a Proxmox VE node's guests down in order: reverse
// startup order, the guests named by -last (the NAS the others keep their
// data on) after everything else, then, with -node, the node itself. Each
// guest gets its clean-shutdown timeout and is then force-stopped.
//
// It is a dry run by default (-dry-run is true): it prints the plan and
// changes nothing. -dry-run=false shuts down.
//
//	PROXMOX_TOKEN_ID=… PROXMOX_TOKEN_SECRET=… go run ./examples/shutdown \
//	    -proxmox https://192.168.1.2:8006 -proxmox-fingerprint AA:BB:… -last nas -node            # the plan
//	PROXMOX_TOKEN_ID=… PROXMOX_TOKEN_SECRET=… go run ./examples/shutdown … -node -dry-run=false  # for real
//
// The token needs VM.PowerMgmt on the guests (Sys.PowerMgmt on the node with
// -node). Exit status: 0 done (or planned), 1 a guest failed to stop,
// 2 usage or configuration error, 3 Proxmox could not be asked
// (unreachable, token refused, TLS).
package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/secret"
)

const usage = `usage: shutdown [-proxmox URL] [-proxmox-fingerprint FP] [-last nas] [-node] [-dry-run=false]
  env PROXMOX_TOKEN_ID (user@realm!name), PROXMOX_TOKEN_SECRET: a Proxmox VE API token
  without -dry-run=false only the plan is printed
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("shutdown", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "log every device call to stderr (the SDK's debug logging)")
	url := fs.String("proxmox", "https://192.168.1.2:8006", "Proxmox VE API URL")
	pin := fs.String("proxmox-fingerprint", "", "SHA-256 fingerprint of the node's self-signed certificate (AA:BB:…, as the web UI shows it)")
	last := fs.String("last", "nas", "comma-separated guests (names or vmids) that go down after all others")
	node := fs.Bool("node", false, "power the node off after the guests")
	dryRun := fs.Bool("dry-run", true, "print the plan and change nothing; -dry-run=false shuts down")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	var logger *slog.Logger // nil: the SDK logs nothing
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	err := func() error {
		id, tokenSecret := getenv("PROXMOX_TOKEN_ID"), getenv("PROXMOX_TOKEN_SECRET")
		if id == "" || tokenSecret == "" {
			return usageError("set PROXMOX_TOKEN_ID (user@realm!name) and PROXMOX_TOKEN_SECRET to a Proxmox VE API token")
		}
		opts := []proxmox.Option{proxmox.WithAPIToken(id, secret.New(tokenSecret)), proxmox.WithLogger(logger)}
		if *pin != "" {
			opts = append(opts, proxmox.WithFingerprint(*pin))
		}
		c, err := proxmox.NewClient(*url, opts...)
		if errors.Is(err, proxmox.ErrInvalid) {
			return usageError(err.Error()) // a bad URL or fingerprint: status 2
		} else if err != nil {
			return err
		}
		defer c.Close()

		var lastGuests []string
		for _, g := range strings.Split(*last, ",") {
			if g = strings.TrimSpace(g); g != "" {
				lastGuests = append(lastGuests, g)
			}
		}
		plan, err := c.Power.PlanShutdown(ctx, proxmox.PlanOptions{Last: lastGuests, ShutdownNodes: *node})
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, plan)
		if *dryRun {
			fmt.Fprintln(stdout, "Dry run: nothing was stopped. Run with -dry-run=false to shut down.")
			return nil
		}
		res, err := c.Power.Apply(ctx, plan, proxmox.ApplyOptions{OnEvent: func(e proxmox.Event) {
			switch e.Kind {
			case proxmox.EventGuestDone:
				fmt.Fprintf(stdout, "%s (%s): %s.\n", e.Guest, e.Name, e.Outcome)
			case proxmox.EventForceStop:
				fmt.Fprintf(stdout, "%s (%s) did not stop in time: force-stopping it.\n", e.Guest, e.Name)
			case proxmox.EventGuestFail:
				fmt.Fprintf(stdout, "%s (%s) FAILED to stop.\n", e.Guest, e.Name)
			case proxmox.EventNode:
				fmt.Fprintf(stdout, "Node %s is shutting down.\n", e.Node)
			}
		}})
		if err != nil {
			return fmt.Errorf("%d guest(s) failed: %w", len(res.Failed), err)
		}
		fmt.Fprintf(stdout, "Done: %d guest(s) handled in %s.\n", len(res.Outcomes), res.Duration.Round(time.Millisecond))
		return nil
	}()
	if err != nil {
		fmt.Fprintln(stderr, "shutdown:", err)
		if fp := unknownCertificate(err); fp != "" {
			fmt.Fprintf(stderr, "  if that is the node's self-signed certificate (compare with the fingerprint its web UI shows), pin it: -proxmox-fingerprint %s\n", fp)
		}
	}
	return exitCode(err)
}

// unknownCertificate returns the SHA-256 fingerprint of a certificate that
// no trusted authority signed, or "" when err is something else.
func unknownCertificate(err error) string {
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) || ua.Cert == nil {
		return ""
	}
	sum := sha256.Sum256(ua.Cert.Raw)
	hex := make([]string, len(sum))
	for i, b := range sum {
		hex[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(hex, ":")
}

// parse parses the flags: -h prints the usage on stdout (status 0), a wrong
// flag prints the error and the usage on stderr (status 2).
func parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (int, bool) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage); fs.PrintDefaults() }
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		return 0, false
	default:
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		fs.SetOutput(stderr)
		fs.Usage()
		return 2, false
	}
}

// usageError is a wrong command line or a missing setting: exit status 2.
type usageError string

func (e usageError) Error() string { return string(e) }

// exitCode maps err to the exit status: 0 done, 1 the work failed,
// 2 usage, 3 Proxmox could not be asked.
func exitCode(err error) int {
	var (
		usage  usageError
		pin    *proxmox.FingerprintMismatchError
		ca     x509.UnknownAuthorityError
		netErr net.Error
	)
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usage):
		return 2
	case errors.Is(err, proxmox.ErrUnavailable), errors.Is(err, proxmox.ErrAuth), errors.Is(err, proxmox.ErrPermission),
		errors.As(err, &pin), errors.As(err, &ca), errors.As(err, &netErr):
		return 3
	}
	return 1
}
