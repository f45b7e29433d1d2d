// Command expose publishes a web app over HTTPS behind Nginx Proxy Manager:
// it reuses a certificate that covers the name (the lab's wildcard) or has
// NPM issue one by Cloudflare DNS challenge, then creates the proxy host or
// brings it in line, with http redirected to https. Running it again
// changes nothing.
//
//	NPM_EMAIL=admin@example.com NPM_PASSWORD=… go run ./examples/expose \
//	    -npm http://npm.lan:81 -fqdn status.thehomelab.site -to uptime-kuma:3001 -websockets
//
// Exit status: 0 done, 1 NPM refused the change, 2 usage or configuration
// error, 3 NPM could not be asked (unreachable, login refused, TLS).
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
	"strconv"
	"syscall"
	"time"

	"github.com/thehomelab/homelab/npm"
	"github.com/thehomelab/homelab/secret"
)

const usage = `usage: expose [-npm URL] -fqdn NAME -to HOST:PORT [flags]
  env NPM_EMAIL, NPM_PASSWORD: an Nginx Proxy Manager account
  env CLOUDFLARE_API_TOKEN (optional): lets NPM issue a certificate by DNS challenge when none covers NAME
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("expose", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "log every device call to stderr (the SDK's debug logging)")
	api := fs.String("npm", "http://npm.lan:81", "Nginx Proxy Manager URL (the API path /api is added)")
	pin := fs.String("npm-fingerprint", "", "SHA-256 fingerprint of NPM's certificate when -npm is https")
	fqdn := fs.String("fqdn", "", "the app's public name")
	to := fs.String("to", "", "where NPM forwards to, host:port")
	scheme := fs.String("scheme", "http", "scheme of the forward target (http or https)")
	websockets := fs.Bool("websockets", false, "pass websocket upgrades")
	http2 := fs.Bool("http2", true, "serve HTTP/2")
	hsts := fs.Bool("hsts", true, "send Strict-Transport-Security")
	block := fs.Bool("block-exploits", true, "block common exploits")
	email := fs.String("email", "", "Let's Encrypt account e-mail (NPM 2.12 and older)")
	acl := fs.Int("access-list", 0, "id of an access list restricting the app (0: public)")
	timeout := fs.Duration("timeout", 0, "how long the whole call may take (0: 30s, or 5m with CLOUDFLARE_API_TOKEN, as issuing a certificate takes minutes)")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	var logger *slog.Logger // nil: the SDK logs nothing
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	err := func() error {
		if *fqdn == "" || *to == "" {
			return usageError("-fqdn and -to are required")
		}
		host, portText, err := net.SplitHostPort(*to)
		port, perr := strconv.Atoi(portText)
		if err != nil || perr != nil || port < 1 || port > 65535 {
			return usageError(fmt.Sprintf("-to: want host:port, got %q", *to))
		}
		if *scheme != "http" && *scheme != "https" {
			return usageError("-scheme must be http or https")
		}
		app := npm.App{FQDN: *fqdn, ForwardScheme: *scheme, ForwardHost: host, ForwardPort: port,
			Websockets: *websockets, HTTP2: *http2, HSTS: *hsts, BlockExploits: *block, AccessListID: npm.AccessListID(*acl), Email: *email}
		if tok := getenv("CLOUDFLARE_API_TOKEN"); tok != "" {
			app.CloudflareToken = secret.New(tok)
			if *timeout == 0 {
				*timeout = 5 * time.Minute
			}
		}
		user, password := getenv("NPM_EMAIL"), getenv("NPM_PASSWORD")
		if user == "" || password == "" {
			return usageError("set NPM_EMAIL and NPM_PASSWORD to an Nginx Proxy Manager login")
		}
		opts := []npm.Option{npm.WithCredentials(user, secret.New(password)), npm.WithLogger(logger)}
		if *pin != "" {
			opts = append(opts, npm.WithFingerprint(*pin))
		}
		if *timeout > 0 {
			opts = append(opts, npm.WithTimeout(*timeout))
		}
		c, err := npm.NewClient(*api, opts...)
		if errors.Is(err, npm.ErrInvalid) {
			return usageError(err.Error()) // a bad URL or fingerprint: status 2
		} else if err != nil {
			return err
		}
		defer c.Close()

		r, err := c.Expose(ctx, app)
		if err != nil {
			return err
		}
		target := fmt.Sprintf("https://%s -> %s://%s", *fqdn, r.ProxyHost.ForwardScheme, *to)
		if !r.Changed() {
			fmt.Fprintf(stdout, "%s is already proxied as wanted: nothing changed.\n", target)
			return nil
		}
		fmt.Fprintf(stdout, "Proxy host %d %s: %s.\n", r.ProxyHost.ID, r.Action, target)
		for _, ch := range r.Changes {
			fmt.Fprintf(stdout, "  %s\n", ch)
		}
		how := "reused"
		if r.CertificateCreated {
			how = "issued by DNS challenge"
		}
		fmt.Fprintf(stdout, "Certificate %q (%s) is valid until %s.\n", r.Certificate.NiceName, how, r.Certificate.ExpiresOn.Format("2006-01-02"))
		return nil
	}()
	if err != nil {
		fmt.Fprintln(stderr, "expose:", err)
	}
	return exitCode(err)
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
// 2 usage, 3 NPM could not be asked.
func exitCode(err error) int {
	var (
		usage  usageError
		pin    *npm.FingerprintMismatchError
		ca     x509.UnknownAuthorityError
		netErr net.Error
	)
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usage):
		return 2
	case errors.Is(err, npm.ErrUnavailable), errors.Is(err, npm.ErrAuth), errors.Is(err, npm.ErrPermission),
		errors.As(err, &pin), errors.As(err, &ca), errors.As(err, &netErr):
		return 3
	}
	return 1
}
