package command

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/thehomelab/homelab/examples/internal/workflow"
	"github.com/thehomelab/homelab/secret"
	"github.com/thehomelab/homelab/ups"
)

// PowerLoss guards the lab against a power cut.
func PowerLoss() Command {
	return Command{
		Name:    "powerloss",
		Summary: "watch the UPS; when the battery will not last, shut Proxmox down in order (NAS last)",
		Run:     runPowerLoss,
	}
}

func runPowerLoss(ctx context.Context, out, errOut io.Writer, args []string, env Env) error {
	fs := newFlags("powerloss", out, errOut, env, "powerloss [-ups ups@host:3493] [-nut-starttls|-nut-fingerprint sha256:…|-nut-ca ca.pem] [-proxmox URL] [-last nas] [-node] [-fsd] [-dry-run] [-check-interval 5m]\n"+
		proxmoxEnvHelp+"\n  env NUT_USER, NUT_PASSWORD (optional; needed for -fsd): an upsd.users account with upsmon primary\n"+
		"  checks first that it can act (Proxmox reachable, credentials accepted, VM.PowerMgmt on every guest,\n"+
		"  Sys.PowerMgmt on the node, a NUT primary login with -fsd) and refuses to start otherwise (exit status 3);\n"+
		"  runs until the policy decides to shut down, or until interrupted, checking again every -check-interval")
	p := addProxmoxFlags(fs)
	target := fs.String("ups", "ups@localhost:3493", "the UPS as NUT names it, name@host[:port]")
	last := fs.String("last", "nas", "comma-separated guests (names or vmids) that go down after all others")
	node := fs.Bool("node", true, "power the node off after the guests")
	fsd := fs.Bool("fsd", false, "set FSD on the UPS first, so other NUT clients shut down too")
	drill := fs.Bool("dry-run", false, "go the whole way but change nothing: no FSD, the shutdown only prints its plan")
	minCharge := fs.Float64("min-charge", 0, "shut down at this battery charge in percent (0: the package default, 30)")
	minRuntime := fs.Duration("min-runtime", 0, "shut down at this remaining runtime (0: the package default, 5m)")
	maxOnBattery := fs.Duration("max-on-battery", 0, "shut down after this long on battery (0: the package default, 10m)")
	checkEvery := fs.Duration("check-interval", 5*time.Minute, "while watching, check this often that the shutdown is still possible (0: the package default, 1m)")
	nutTLS := fs.Bool("nut-starttls", false, "upgrade the NUT connection with STARTTLS, verifying upsd against the system roots (or -nut-ca, -nut-fingerprint)")
	nutFingerprint := fs.String("nut-fingerprint", "", "pin upsd's certificate (sha256:AA:BB:…); implies -nut-starttls")
	nutCA := fs.String("nut-ca", "", "PEM file of the CA that signed upsd's certificate; implies -nut-starttls")
	nutServerName := fs.String("nut-servername", "", "the name upsd's certificate must carry (default: the host of -ups)")
	if err := parse(fs, args); err != nil {
		return err
	}
	name, addr, ok := strings.Cut(*target, "@")
	if !ok || name == "" || addr == "" {
		return usageError("-ups: want name@host[:port], got %q", *target)
	}
	if !strings.Contains(addr, ":") || strings.HasSuffix(addr, "]") {
		addr += ":3493"
	}
	var opts []ups.Option
	if user := fs.getenv("NUT_USER"); user != "" {
		pw, err := need(fs.getenv, "NUT_PASSWORD", "the password of NUT_USER")
		if err != nil {
			return err
		}
		opts = append(opts, ups.WithCredentials(user, secret.New(pw)))
	} else if *fsd && !*drill {
		return usageError("-fsd needs NUT_USER and NUT_PASSWORD: setting FSD takes a upsmon primary login")
	}
	if *nutTLS {
		opts = append(opts, ups.WithStartTLS())
	}
	if *nutFingerprint != "" {
		opts = append(opts, ups.WithFingerprint(*nutFingerprint))
	}
	if *nutCA != "" {
		pem, err := os.ReadFile(*nutCA)
		if err != nil {
			return usageError("-nut-ca: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return usageError("-nut-ca: no PEM certificate in %s", *nutCA)
		}
		opts = append(opts, ups.WithRootCAs(pool))
	}
	if *nutServerName != "" {
		opts = append(opts, ups.WithServerName(*nutServerName))
	}
	pve, err := p.connect(ctx, false)
	if err != nil {
		return err
	}
	defer pve.Close()
	c, err := ups.Dial(ctx, addr, append(opts, ups.WithLogger(Logger(ctx)))...)
	if err != nil {
		return clientError(err, ups.ErrInvalid)
	}
	defer c.Close()
	workflow.Title(out, "Power loss guard: %s, Proxmox %s", *target, *p.url)
	_, err = workflow.PowerLoss(ctx, out, c.Device(name), pve, workflow.PowerLossConfig{
		Policy:     ups.Policy{MinCharge: *minCharge, MinRuntime: *minRuntime, MaxOnBattery: *maxOnBattery},
		Shutdown:   workflow.ShutdownConfig{Last: list(*last), Node: *node},
		ForwardFSD: *fsd,
		DryRun:     *drill,
		// how often the guard checks again that it can act; with -fsd the
		// monitor also checks the NUT primary login (Device.CheckPrimary)
		CheckInterval: *checkEvery,
	})
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		// Stopped by Ctrl-C or the service manager before any decision:
		// a normal end for a guard.
		fmt.Fprintln(out, "   stopped; no shutdown was decided")
		return nil
	}
	return err
}
