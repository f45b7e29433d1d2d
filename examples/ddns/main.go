// Command ddns keeps Cloudflare A records on the lab's public IPv4 address:
// it asks the router for its PPPoE address (or a "what is my IP" service,
// or takes -ip), compares with the records and updates those that differ.
// Only records carrying the managed comment are touched.
//
//	CLOUDFLARE_API_TOKEN=… ROUTEROS_PASSWORD=… go run ./examples/ddns -router 192.168.1.1:8728 -names vpn,home
//	CLOUDFLARE_API_TOKEN=… go run ./examples/ddns -from echo -names vpn -watch 5m
//
// It runs one cycle and exits, unless -watch: then it checks every interval
// until interrupted, sending nothing to Cloudflare while the address stays
// the same. -dry-run prints what would change and changes nothing.
// Exit status: 0 done, 1 the update failed, 2 usage or configuration error,
// 3 Cloudflare or the router could not be asked (unreachable, token refused).
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
	"strings"
	"syscall"
	"time"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/routeros"
	"github.com/thehomelab/homelab/secret"
)

const usage = `usage: ddns [-zone Z] [-names vpn,home] [-from router|echo | -ip ADDR] [-router ADDR] [-router-tls | -router-fingerprint FP] [-dry-run | -watch 5m]
  env CLOUDFLARE_API_TOKEN: an API token with Zone:Read and DNS:Edit on the zone
  env ROUTEROS_USER (default admin), ROUTEROS_PASSWORD: a RouterOS API user (with -from router)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("ddns", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "log every device call to stderr (the SDK's debug logging)")
	zone := fs.String("zone", "thehomelab.site", "Cloudflare zone")
	names := fs.String("names", "vpn", "comma-separated record names to keep on the address")
	from := fs.String("from", "router", "where the address comes from: router (its WAN interface) or echo (a web service)")
	ip := fs.String("ip", "", "publish this address instead of asking")
	router := fs.String("router", "192.168.1.1:8728", "RouterOS API address (API-SSL: port 8729 with -router-tls or -router-fingerprint)")
	useTLS := fs.Bool("router-tls", false, "use API-SSL, verifying the certificate against the system roots")
	pin := fs.String("router-fingerprint", "", "use API-SSL and pin the router's certificate (sha256:…)")
	wan := fs.String("wan", routeros.DefaultWANInterface, "the router's WAN interface")
	echo := fs.String("echo", "https://api.ipify.org", `"what is my IP" service asked with -from echo`)
	api := fs.String("cloudflare", dns.DefaultBaseURL, "Cloudflare API base URL")
	dryRun := fs.Bool("dry-run", false, "print what would change, change nothing")
	watch := fs.Duration("watch", 0, "keep running, checking every interval (e.g. 5m); 0 runs one cycle")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	var logger *slog.Logger // nil: the SDK logs nothing
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	err := func() error {
		cfg := dns.UpdaterConfig{Zone: *zone}
		for _, n := range strings.Split(*names, ",") {
			if n = strings.TrimSpace(n); n != "" {
				cfg.Names = append(cfg.Names, n)
			}
		}
		if len(cfg.Names) == 0 {
			return usageError("-names is empty")
		}
		if *watch < 0 || (*watch > 0 && *dryRun) {
			return usageError("-watch takes a positive interval and no -dry-run")
		}
		token := getenv("CLOUDFLARE_API_TOKEN")
		if token == "" {
			return usageError("set CLOUDFLARE_API_TOKEN to a Cloudflare API token")
		}
		switch {
		case *ip != "":
			a, err := netip.ParseAddr(*ip)
			if err != nil {
				return usageError(fmt.Sprintf("-ip: %v", err))
			}
			cfg.IPv4 = dns.StaticSource(a)
		case *from == "echo":
			cfg.IPv4 = dns.EchoSource(*echo, dns.IPv4, nil)
		case *from == "router":
			rc, err := dialRouter(ctx, *router, *pin, *useTLS, getenv, logger)
			if err != nil {
				return err
			}
			defer rc.Close()
			// The composition: routeros and dns do not know each other.
			cfg.IPv4 = func(ctx context.Context) (netip.Addr, error) { return rc.WAN.PublicIP(ctx, *wan) }
		default:
			return usageError(fmt.Sprintf("-from must be router or echo, not %q", *from))
		}
		c, err := dns.NewClient(secret.New(token), dns.WithBaseURL(*api), dns.WithLogger(logger))
		if errors.Is(err, dns.ErrInvalid) {
			return usageError(err.Error()) // a bad URL or fingerprint: status 2
		} else if err != nil {
			return err
		}
		defer c.Close()

		if *watch > 0 {
			cfg.OnEvent = func(e dns.Event) {
				switch e.Kind {
				case dns.EventChanged:
					for _, ch := range e.Result.Changes {
						fmt.Fprintf(stdout, "%s %s\n", e.Time.Format(time.RFC3339), ch)
					}
				case dns.EventError:
					fmt.Fprintf(stdout, "%s failed, next try in %s: %v\n", e.Time.Format(time.RFC3339), e.Next.Round(time.Second), e.Err)
				}
			}
		}
		u, err := c.NewUpdater(cfg)
		if err != nil {
			return err
		}
		if *watch > 0 {
			fmt.Fprintf(stdout, "Keeping %s on the public address, checking every %s; Ctrl-C stops.\n", strings.Join(cfg.Names, ", "), *watch)
			if err := u.Run(ctx, *watch); !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		}
		plan, err := u.PlanUpdate(ctx)
		if err != nil {
			return err
		}
		for _, r := range plan.Unmanaged {
			fmt.Fprintf(stdout, "Left alone (no managed comment): %s\n", r)
		}
		if !plan.Changed() {
			fmt.Fprintf(stdout, "The records already hold %s: nothing to change.\n", plan.IPv4)
			return nil
		}
		for _, ch := range plan.Changes {
			fmt.Fprintf(stdout, "Change: %s\n", ch)
		}
		if *dryRun {
			fmt.Fprintln(stdout, "Dry run: nothing was changed.")
			return nil
		}
		res, err := u.Apply(ctx, plan)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Done: %d record(s) now point at %s.\n", len(res.Changes), plan.IPv4)
		return nil
	}()
	if err != nil {
		fmt.Fprintln(stderr, "ddns:", err)
	}
	return exitCode(err)
}

// dialRouter logs in to the router with the credentials from the environment.
func dialRouter(ctx context.Context, addr, pin string, useTLS bool, getenv func(string) string, logger *slog.Logger) (*routeros.Client, error) {
	user, password := getenv("ROUTEROS_USER"), getenv("ROUTEROS_PASSWORD")
	if user == "" {
		user = "admin"
	}
	if password == "" {
		return nil, usageError("set ROUTEROS_PASSWORD to the RouterOS API password (or use -from echo or -ip)")
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
// 2 usage, 3 Cloudflare or the router could not be asked.
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
	case errors.Is(err, dns.ErrUnavailable), errors.Is(err, dns.ErrAuth), errors.Is(err, dns.ErrPermission),
		errors.Is(err, routeros.ErrUnavailable), errors.Is(err, routeros.ErrAuth), errors.Is(err, routeros.ErrPermission),
		errors.As(err, &pin), errors.As(err, &ca), errors.As(err, &netErr):
		return 3
	}
	return 1
}
