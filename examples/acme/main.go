// Command acme is an ACME DNS-01 hook for Cloudflare: "present" publishes
// the TXT record a certificate authority checks and waits until Cloudflare
// lists it; "cleanup" deletes it again (only records this hook made, marked
// with the ACME comment, never one somebody else made). It has the calling
// convention of lego's exec provider:
//
//	CLOUDFLARE_API_TOKEN=… EXEC_PATH=$(go env GOPATH)/bin/acme \
//	    lego --dns exec --domains '*.thehomelab.site' run
//
// (EXEC_MODE=RAW too: then lego passes the key authorization and the hook
// publishes its digest), or by hand:
//
//	acme present '*.thehomelab.site' <value>
//	acme cleanup '*.thehomelab.site' <value>
//
// Exit status: 0 done, 1 Cloudflare refused the change, 2 usage or
// configuration error, 3 Cloudflare could not be asked (unreachable, token
// refused).
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
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/secret"
)

const usage = `usage: acme [-zone Z] present|cleanup DOMAIN VALUE...
  or, from lego with EXEC_MODE=RAW: present|cleanup -- DOMAIN TOKEN KEYAUTH
  DOMAIN is the domain (*.thehomelab.site) or the record name (_acme-challenge.thehomelab.site.)
  env CLOUDFLARE_API_TOKEN: an API token with Zone:Read and DNS:Edit on the zone
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("acme", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "log every device call to stderr (the SDK's debug logging)")
	zone := fs.String("zone", "thehomelab.site", "Cloudflare zone")
	poll := fs.Duration("poll", 0, "how often to ask Cloudflare while waiting (0: 2s)")
	api := fs.String("cloudflare", dns.DefaultBaseURL, "Cloudflare API base URL")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	var logger *slog.Logger // nil: the SDK logs nothing
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	err := func() error {
		if fs.NArg() < 3 {
			return usageError(fmt.Sprintf("want present|cleanup DOMAIN VALUE..., got %q", fs.Args()))
		}
		verb, name, values := fs.Arg(0), fs.Arg(1), fs.Args()[2:]
		if verb != "present" && verb != "cleanup" {
			return usageError(fmt.Sprintf("unknown action %q, want present or cleanup", verb))
		}
		if name == "--" {
			// lego with EXEC_MODE=RAW: "present -- DOMAIN TOKEN KEYAUTH".
			if fs.NArg() != 5 {
				return usageError(fmt.Sprintf("want present|cleanup -- DOMAIN TOKEN KEYAUTH (lego's RAW mode), got %q", fs.Args()))
			}
			name, values = fs.Arg(2), []string{dns.ChallengeValue(fs.Arg(4))}
		}
		// lego passes the record name with a trailing dot; people type the domain.
		domain := strings.TrimPrefix(strings.TrimSuffix(name, "."), "_acme-challenge.")
		token := getenv("CLOUDFLARE_API_TOKEN")
		if token == "" {
			return usageError("set CLOUDFLARE_API_TOKEN to a Cloudflare API token")
		}
		c, err := dns.NewClient(secret.New(token), dns.WithBaseURL(*api), dns.WithLogger(logger))
		if errors.Is(err, dns.ErrInvalid) {
			return usageError(err.Error()) // a bad URL or fingerprint: status 2
		} else if err != nil {
			return err
		}
		defer c.Close()
		z, err := c.Zone(ctx, *zone)
		if err != nil {
			return err
		}

		if verb == "cleanup" {
			n, err := c.CleanUpChallenge(ctx, z, domain, values...)
			fmt.Fprintf(stdout, "Deleted %d TXT record(s) on %s.\n", n, z.FQDN(dns.ChallengeName(domain)))
			return err
		}
		ch, err := c.PresentChallenge(ctx, z, domain, values...)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Published %d TXT record(s) on %s; waiting until Cloudflare lists them.\n", len(values), ch.Name())
		if err := ch.Wait(ctx, *poll); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Cloudflare lists every value: the CA may validate %s now.\n", domain)
		return nil
	}()
	if err != nil {
		fmt.Fprintln(stderr, "acme:", err)
	}
	return exitCode(err)
}

// parse parses the flags (the verb and its arguments follow them): -h
// prints the usage on stdout (status 0), a wrong flag prints the error and
// the usage on stderr (status 2).
func parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (int, bool) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage); fs.PrintDefaults() }
	err := fs.Parse(args)
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
// 2 usage, 3 Cloudflare could not be asked.
func exitCode(err error) int {
	var (
		usage  usageError
		ca     x509.UnknownAuthorityError
		netErr net.Error
	)
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usage):
		return 2
	case errors.Is(err, dns.ErrUnavailable), errors.Is(err, dns.ErrAuth), errors.Is(err, dns.ErrPermission),
		errors.As(err, &ca), errors.As(err, &netErr):
		return 3
	}
	return 1
}
