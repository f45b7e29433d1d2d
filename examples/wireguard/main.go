// Command wireguard onboards a VPN client on a MikroTik router: it adds a
// WireGuard peer with fresh keys and the next free tunnel address, and
// writes the client's wg-quick config and its QR code (for the phone app).
//
//	ROUTEROS_PASSWORD=… go run ./examples/wireguard -router 192.168.1.1:8728 \
//	    -name phone-anna -conf anna.conf -qr anna.png -allowed 192.168.1.0/24
//
// The client's private key exists only in the files written (mode 0600):
// a name that is already a peer is refused, since its keys cannot be shown
// again, and so is a -conf or -qr file that already exists (it is never
// overwritten, even by a second run racing this one). Exit status: 0 onboarded, 1 the router refused or a file could not
// be written, 2 usage or configuration error, 3 the router could not be
// reached or refused the login.
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/thehomelab/homelab/routeros"
	"github.com/thehomelab/homelab/secret"
)

const usage = `usage: wireguard [-router ADDR] [-router-tls | -router-fingerprint FP] -name NAME (-conf FILE | -qr FILE.png) [-allowed PREFIX,…] [-endpoint HOST:PORT]
  env ROUTEROS_USER (default admin), ROUTEROS_PASSWORD: a RouterOS API user
  the client's keys exist only in the files written: keep them safe
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("wireguard", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "log every device call to stderr (the SDK's debug logging)")
	addr := fs.String("router", "192.168.1.1:8728", "RouterOS API address (API-SSL: port 8729 with -router-tls or -router-fingerprint)")
	useTLS := fs.Bool("router-tls", false, "use API-SSL, verifying the certificate against the system roots")
	pin := fs.String("router-fingerprint", "", "use API-SSL and pin the router's certificate (sha256:…)")
	name := fs.String("name", "", "peer name, e.g. phone-anna")
	conf := fs.String("conf", "", "write the wg-quick config here (mode 0600)")
	qr := fs.String("qr", "", "write the config's QR code here as PNG (mode 0600)")
	allowed := fs.String("allowed", "", "comma-separated prefixes the client routes into the tunnel (default: everything)")
	endpoint := fs.String("endpoint", "", "host:port clients dial (default: the router's /ip/cloud name)")
	iface := fs.String("interface", routeros.DefaultWireGuardInterface, "the router's WireGuard interface")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	var logger *slog.Logger // nil: the SDK logs nothing
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	err := func() error {
		if *name == "" {
			return usageError("-name is required")
		}
		if *conf == "" && *qr == "" {
			return usageError("give -conf or -qr: the client's keys are shown only once")
		}
		opts := routeros.OnboardOptions{Interface: *iface, Endpoint: *endpoint}
		for _, s := range strings.Split(*allowed, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return usageError(fmt.Sprintf("-allowed: %v", err))
			}
			opts.AllowedIPs = append(opts.AllowedIPs, p)
		}
		if *conf != "" && *conf == *qr {
			return usageError("-conf and -qr name the same file " + *conf)
		}
		// Create the files before touching the router rather than lose the
		// keys after; each is created only if it does not exist yet (one
		// step, so two runs cannot both pass a check, and a symlink planted
		// there is not followed). Files not filled are removed on the way out.
		files := map[string]*os.File{}
		defer func() {
			for _, f := range files {
				f.Close()
				os.Remove(f.Name())
			}
		}()
		for _, name := range []string{*conf, *qr} {
			if name == "" {
				continue
			}
			f, err := createNew(name)
			if err != nil {
				return err
			}
			files[name] = f
		}
		c, err := dial(ctx, *addr, *pin, *useTLS, getenv, logger)
		if err != nil {
			return err
		}
		defer c.Close()

		ob, err := c.WireGuard.Onboard(ctx, *name, opts)
		if errors.Is(err, routeros.ErrConflict) {
			return fmt.Errorf("%s is already a peer; remove it on the router first to issue new keys: %w", *name, err)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Peer %s added on %s with address %s.\n", ob.Peer.Name, ob.Peer.Interface, ob.Address)
		for _, out := range []struct {
			file, what string
			data       []byte
		}{
			{*conf, "config", []byte(ob.Config.Reveal())}, {*qr, "QR code", []byte(ob.QR.Reveal())},
		} {
			if out.file == "" {
				continue
			}
			f := files[out.file]
			_, err := f.Write(out.data)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("the peer was added but the %s was not saved (remove the peer and retry): %w", out.what, err)
			}
			delete(files, out.file) // filled: kept
			fmt.Fprintf(stdout, "The client's %s is in %s; it holds the private key.\n", out.what, out.file)
		}
		return nil
	}()
	if err != nil {
		fmt.Fprintln(stderr, "wireguard:", err)
	}
	return exitCode(err)
}

// createNew creates the file name for writing with mode 0600, only if
// nothing (not even a dangling symlink) is there yet. An existing file is a
// usage error naming it.
func createNew(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, usageError(name + " exists: not overwriting it")
	}
	return f, err
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
// 2 usage, 3 the router could not be reached or refused the login.
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
