// Command isolation audits a MikroTik router's firewall: it checks that one
// network (the guest Wi-Fi) cannot open connections to another (the LAN)
// through the forward chain, and says which rule decides.
//
//	ROUTEROS_PASSWORD=… go run ./examples/isolation -router 192.168.1.1:8728 -from 10.1.1.0/24 -to 192.168.1.0/24
//
// Exit status: 0 isolated, 1 a leak was found, 2 usage or configuration
// error, 3 the router could not be asked (unreachable, login refused, TLS).
// Run it from cron: a firewall change that opens the LAN fails loudly.
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/thehomelab/homelab/routeros"
	"github.com/thehomelab/homelab/secret"
)

const usage = `usage: isolation [-router ADDR] [-router-tls | -router-fingerprint FP] [-from PREFIX] [-to PREFIX]
  env ROUTEROS_USER (default admin), ROUTEROS_PASSWORD: a RouterOS API user
  exits 1 when -from can open connections to -to
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("isolation", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "log every device call to stderr (the SDK's debug logging)")
	addr := fs.String("router", "192.168.1.1:8728", "RouterOS API address (API-SSL: port 8729 with -router-tls or -router-fingerprint)")
	useTLS := fs.Bool("router-tls", false, "use API-SSL, verifying the certificate against the system roots")
	pin := fs.String("router-fingerprint", "", "use API-SSL and pin the router's certificate (sha256:…)")
	from := fs.String("from", "10.1.1.0/24", "the network that must be kept out")
	to := fs.String("to", "192.168.1.0/24", "the network to protect")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	var logger *slog.Logger // nil: the SDK logs nothing
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	err := func() error {
		src, err := netip.ParsePrefix(*from)
		if err != nil {
			return usageError(fmt.Sprintf("-from: %v", err))
		}
		dst, err := netip.ParsePrefix(*to)
		if err != nil {
			return usageError(fmt.Sprintf("-to: %v", err))
		}
		c, err := dial(ctx, *addr, *pin, *useTLS, getenv, logger)
		if err != nil {
			return err
		}
		defer c.Close()

		rep, err := c.Firewall.AuditIsolation(ctx, src, dst)
		if err != nil {
			return err
		}
		if !rep.Isolated {
			return fmt.Errorf("LEAK: %s can reach %s: %s", src, dst, rep.Reason)
		}
		rule := "the forward chain's default policy"
		if rep.Rule != nil {
			rule = fmt.Sprintf("rule %s %q (%s)", rep.Rule.ID, rep.Rule.Comment, rep.Rule.Action)
		}
		fmt.Fprintf(stdout, "%s cannot reach %s: %s decides.\n", src, dst, rule)
		return nil
	}()
	if err != nil {
		fmt.Fprintln(stderr, "isolation:", err)
	}
	return exitCode(err)
}

// dial logs in to the router with the credentials from the environment.
func dial(ctx context.Context, addr, pin string, useTLS bool, getenv func(string) string, logger *slog.Logger) (*routeros.Client, error) {
	user, password := getenv("ROUTEROS_USER"), getenv("ROUTEROS_PASSWORD")
	if user == "" {
		user = "admin"
	}
	if password == "" {
		return nil, usageError("set ROUTEROS_PASSWORD to the RouterOS API password")
	}
	opts := []routeros.Option{routeros.WithCredentials(user, secret.New(password)), routeros.WithLogger(logger)}
	if useTLS {
		opts = append(opts, routeros.WithTLS())
	}
	if pin != "" {
		opts = append(opts, routeros.WithFingerprint(pin))
	}
	c, err := routeros.Dial(ctx, addr, opts...)
	if errors.Is(err, routeros.ErrInvalid) {
		return nil, usageError(err.Error()) // a bad address or fingerprint: status 2
	}
	return c, err
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
		fmt.Fprintln(stderr, "isolation:", err)
		fs.SetOutput(stderr)
		fs.Usage()
		return 2, false
	}
}

// usageError is a wrong command line or a missing setting: exit status 2.
type usageError string

func (e usageError) Error() string { return string(e) }

// exitCode maps err to the exit status: 0 nothing wrong, 1 a problem found
// (or the work failed), 2 usage, 3 the router could not be checked.
func exitCode(err error) int {
	var (
		usage  usageError
		pin    *routeros.FingerprintMismatchError
		ca     x509.UnknownAuthorityError
		netErr net.Error
	)
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usage):
		return 2
	case errors.Is(err, routeros.ErrUnavailable), errors.Is(err, routeros.ErrAuth), errors.Is(err, routeros.ErrPermission),
		errors.As(err, &pin), errors.As(err, &ca), errors.As(err, &netErr):
		return 3
	}
	return 1
}
