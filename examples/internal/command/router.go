package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/thehomelab/homelab/examples/internal/workflow"
	"github.com/thehomelab/homelab/routeros"
	"github.com/thehomelab/homelab/secret"
)

// routerFlags are the flags and environment every router command reads.
type routerFlags struct {
	fs                *flagSet
	addr, fingerprint *string
	tls               *bool
}

const routerEnvHelp = "  env ROUTEROS_USER (default admin), ROUTEROS_PASSWORD: a RouterOS API user"

func addRouterFlags(fs *flagSet) routerFlags {
	return routerFlags{
		fs:          fs,
		addr:        fs.String("router", "192.168.1.1:8728", "RouterOS API address (API-SSL: port 8729 with -router-tls or -router-fingerprint)"),
		tls:         fs.Bool("router-tls", false, "use API-SSL, verifying the certificate against the system roots"),
		fingerprint: fs.String("router-fingerprint", "", "use API-SSL and pin the router's certificate (sha256:…)"),
	}
}

func (f routerFlags) dial(ctx context.Context) (*routeros.Client, error) {
	fs := f.fs
	password, err := need(fs.getenv, "ROUTEROS_PASSWORD", "the RouterOS API password")
	if err != nil {
		return nil, err
	}
	user := fs.getenv("ROUTEROS_USER")
	if user == "" {
		user = "admin"
	}
	opts := []routeros.Option{routeros.WithCredentials(user, secret.New(password))}
	if *f.tls {
		opts = append(opts, routeros.WithTLS())
	}
	if *f.fingerprint != "" {
		opts = append(opts, routeros.WithFingerprint(*f.fingerprint))
	}
	c, err := routeros.Dial(ctx, *f.addr, append(opts, routeros.WithLogger(Logger(ctx)))...)
	if err != nil {
		return nil, clientError(err, routeros.ErrInvalid)
	}
	return c, nil
}

// WireGuard onboards a VPN client on the router.
func WireGuard() Command {
	return Command{
		Name:    "wireguard",
		Summary: "onboard a WireGuard VPN client on the router: peer, config file and QR code",
		Run:     runWireGuard,
	}
}

func runWireGuard(ctx context.Context, out, errOut io.Writer, args []string, env Env) error {
	fs := newFlags("wireguard", out, errOut, env, "wireguard [-router ADDR] -name phone-anna (-conf FILE | -qr FILE.png) [-allowed 192.168.1.0/24,…]\n"+routerEnvHelp+
		"\n  the client's keys exist only in the files written: keep them safe")
	r := addRouterFlags(fs)
	name := fs.String("name", "", "peer name, e.g. phone-anna")
	conf := fs.String("conf", "", "write the wg-quick config here (mode 0600)")
	qr := fs.String("qr", "", "write the config's QR code here as PNG (mode 0600)")
	allowed := fs.String("allowed", "", "comma-separated prefixes the client routes into the tunnel (default: everything)")
	endpoint := fs.String("endpoint", "", "host:port clients dial (default: the router's /ip/cloud name)")
	iface := fs.String("interface", routeros.DefaultWireGuardInterface, "WireGuard interface")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return usageError("-name is required")
	}
	if *conf == "" && *qr == "" {
		return usageError("give -conf or -qr: the client's keys are shown only once")
	}
	cfg := workflow.WireGuardConfig{Name: *name, Options: routeros.OnboardOptions{Interface: *iface, Endpoint: *endpoint}}
	for _, s := range list(*allowed) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return usageError("-allowed: %v", err)
		}
		cfg.Options.AllowedIPs = append(cfg.Options.AllowedIPs, p)
	}
	if *conf != "" && *conf == *qr {
		return usageError("-conf and -qr name the same file %s", *conf)
	}
	// Create the files before touching the router rather than lose the
	// keys after; each only if nothing is there yet (one step, as
	// examples/wireguard: two runs cannot both pass a check, and a
	// symlink planted there is not followed). Files not filled are
	// removed on the way out.
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	for _, name := range []string{*conf, *qr} {
		if name == "" {
			continue
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return usageError("%s exists: not overwriting it", name)
		} else if err != nil {
			return fmt.Errorf("wireguard: %w", err)
		}
		files[name] = f
	}
	c, err := r.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	workflow.Title(out, "WireGuard: onboard %s on %s", *name, *r.addr)
	ob, err := workflow.WireGuard(ctx, out, c, cfg)
	if err != nil {
		return err
	}
	for _, o := range []struct{ file, what, data string }{
		{*conf, "config", ob.Config.Reveal()},
		{*qr, "QR code", ob.QR.Reveal()},
	} {
		if o.file == "" {
			continue
		}
		f := files[o.file]
		_, err := f.WriteString(o.data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("wireguard: the peer was added but the %s was not saved (remove the peer and retry): %w", o.what, err)
		}
		delete(files, o.file) // filled: kept
		fmt.Fprintf(out, "   %s written to %s\n", o.what, o.file)
	}
	return nil
}

// Isolation audits that one network cannot reach another through the
// router.
func Isolation() Command {
	return Command{
		Name:    "isolation",
		Summary: "audit that the guest network cannot reach the LAN through the router's firewall",
		Run:     runIsolation,
	}
}

func runIsolation(ctx context.Context, out, errOut io.Writer, args []string, env Env) error {
	fs := newFlags("isolation", out, errOut, env, "isolation [-router ADDR] [-from 10.1.1.0/24] [-to 192.168.1.0/24]\n"+routerEnvHelp+
		"\n  exits 1 when -from can open connections to -to")
	r := addRouterFlags(fs)
	from := fs.String("from", "10.1.1.0/24", "the network that must be kept out")
	to := fs.String("to", "192.168.1.0/24", "the network to protect")
	if err := parse(fs, args); err != nil {
		return err
	}
	src, err := netip.ParsePrefix(strings.TrimSpace(*from))
	if err != nil {
		return usageError("-from: %v", err)
	}
	dst, err := netip.ParsePrefix(strings.TrimSpace(*to))
	if err != nil {
		return usageError("-to: %v", err)
	}
	c, err := r.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	workflow.Title(out, "Isolation of %s from %s on %s", dst, src, *r.addr)
	_, err = workflow.Isolation(ctx, out, c, src, dst)
	return err
}
