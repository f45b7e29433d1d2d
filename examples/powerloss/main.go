// Command powerloss guards the lab against a power cut: it watches the UPS
// through NUT's upsd and, once the policy decides the battery will not last
// (low battery, charge or runtime below a floor, too long on battery, or a
// UPS gone silent while on battery), shuts the Proxmox guests down in
// reverse startup order with -last (the NAS) after the others, then the
// node. With -fsd it first sets FSD on the UPS so other NUT clients shut
// down too.
//
//	PROXMOX_TOKEN_ID=… PROXMOX_TOKEN_SECRET=… NUT_USER=upsmon NUT_PASSWORD=… go run ./examples/powerloss \
//	    -ups ups@192.168.1.2 -proxmox https://192.168.1.2:8006 -proxmox-fingerprint AA:BB:… -last nas -fsd
//
// A guard that cannot act is no guard: before it starts watching it checks
// everything the shutdown will need (the UPS answers, the NUT account is a
// primary when -fsd is given, Proxmox answers and the token may power off
// every guest and the node) and refuses to start otherwise. While it waits
// it checks again every -recheck and says loudly on stderr when the
// shutdown has become impossible. -dry-run goes the whole way and changes
// nothing: no FSD, the shutdown only prints its plan.
//
// Exit status: 0 the shutdown ran (or the guard was stopped before any
// decision), 1 the shutdown failed, 2 usage or configuration error, 3 the
// guard could not start: a device unreachable, a login or a privilege
// refused, TLS not trusted.
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
	"time"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/secret"
	"github.com/thehomelab/homelab/ups"
)

const usage = `usage: powerloss [-ups ups@host[:3493]] [-proxmox URL] [-last nas] [-node=true] [-fsd] [-dry-run]
  env PROXMOX_TOKEN_ID (user@realm!name), PROXMOX_TOKEN_SECRET: a Proxmox VE API token with
      VM.PowerMgmt on the guests and Sys.PowerMgmt on the node
  env NUT_USER, NUT_PASSWORD (needed for -fsd): an upsd.users account with "upsmon primary"
  runs until the policy decides to shut down, or until interrupted
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// guard is what the shutdown needs: both devices and the settings.
type guard struct {
	ups         *ups.Device
	pve         *proxmox.Client
	plan        proxmox.PlanOptions
	fsd, dryRun bool
	// stopChecks ends the periodic checks once the shutdown begins.
	stopChecks context.CancelFunc
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("powerloss", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "log every device call to stderr (the SDK's debug logging)")
	target := fs.String("ups", "ups@localhost:3493", "the UPS as NUT names it, name@host[:port]")
	pveURL := fs.String("proxmox", "https://192.168.1.2:8006", "Proxmox VE API URL")
	pin := fs.String("proxmox-fingerprint", "", "SHA-256 fingerprint of the node's self-signed certificate (AA:BB:…, as the web UI shows it)")
	last := fs.String("last", "nas", "comma-separated guests (names or vmids) that go down after all others")
	node := fs.Bool("node", true, "power the node off after the guests")
	fsd := fs.Bool("fsd", false, "set FSD on the UPS first, so other NUT clients shut down too")
	dryRun := fs.Bool("dry-run", false, "go the whole way but change nothing: no FSD, the shutdown only prints its plan")
	minCharge := fs.Float64("min-charge", 0, "shut down at this battery charge in percent (0: 30)")
	minRuntime := fs.Duration("min-runtime", 0, "shut down at this remaining runtime (0: 5m)")
	maxOnBattery := fs.Duration("max-on-battery", 0, "shut down after this long on battery (0: 10m)")
	recheck := fs.Duration("recheck", 5*time.Minute, "how often to check again, while waiting, that the shutdown is still possible")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	var logger *slog.Logger // nil: the SDK logs nothing
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	err := func() error {
		name, addr, ok := strings.Cut(*target, "@")
		if !ok || name == "" || addr == "" {
			return usageError(fmt.Sprintf("-ups: want name@host[:port], got %q", *target))
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(strings.Trim(addr, "[]"), "3493")
		}
		if *recheck <= 0 {
			return usageError("-recheck must be positive")
		}
		id, tokenSecret := getenv("PROXMOX_TOKEN_ID"), getenv("PROXMOX_TOKEN_SECRET")
		if id == "" || tokenSecret == "" {
			return usageError("set PROXMOX_TOKEN_ID (user@realm!name) and PROXMOX_TOKEN_SECRET to a Proxmox VE API token")
		}
		upsOpts := []ups.Option{ups.WithLogger(logger)}
		if user := getenv("NUT_USER"); user != "" {
			upsOpts = append(upsOpts, ups.WithCredentials(user, secret.New(getenv("NUT_PASSWORD"))))
		} else if *fsd && !*dryRun {
			return usageError("-fsd needs NUT_USER and NUT_PASSWORD: setting FSD takes a upsmon primary login")
		}
		pveOpts := []proxmox.Option{proxmox.WithAPIToken(id, secret.New(tokenSecret)), proxmox.WithLogger(logger)}
		if *pin != "" {
			pveOpts = append(pveOpts, proxmox.WithFingerprint(*pin))
		}
		pve, err := proxmox.NewClient(*pveURL, pveOpts...)
		if errors.Is(err, proxmox.ErrInvalid) {
			return usageError(err.Error()) // a bad URL or fingerprint: status 2
		} else if err != nil {
			return err
		}
		defer pve.Close()
		uc, err := ups.Dial(ctx, addr, upsOpts...)
		if errors.Is(err, ups.ErrInvalid) {
			return usageError(err.Error()) // a bad address: status 2
		} else if err != nil {
			return err
		}
		defer uc.Close()

		g := guard{ups: uc.Device(name), pve: pve, fsd: *fsd, dryRun: *dryRun,
			plan: proxmox.PlanOptions{ShutdownNodes: *node}}
		for _, s := range strings.Split(*last, ",") {
			if s = strings.TrimSpace(s); s != "" {
				g.plan.Last = append(g.plan.Last, s)
			}
		}
		if err := g.check(ctx, stdout); err != nil {
			return fmt.Errorf("not starting, the guard could not act: %w", err)
		}
		checkCtx, stopChecks := context.WithCancel(ctx)
		defer stopChecks()
		g.stopChecks = stopChecks
		go g.recheck(checkCtx, *recheck, stdout, stderr)

		m, err := ups.NewMonitor(g.ups, ups.MonitorConfig{
			Policy:     ups.Policy{MinCharge: *minCharge, MinRuntime: *minRuntime, MaxOnBattery: *maxOnBattery},
			ForwardFSD: *fsd,
			DryRun:     *dryRun,
			OnEvent:    func(e ups.Event) { fmt.Fprintf(stdout, "%s: %s\n", e.Time.Format(time.TimeOnly), e) },
			Shutdown:   g.shutdown(stdout),
		})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, "Watching the UPS; Ctrl-C stops.")
		_, err = m.Run(ctx)
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			fmt.Fprintln(stdout, "Stopped; no shutdown was decided.")
			return nil
		}
		return err
	}()
	if err != nil {
		fmt.Fprintln(stderr, "powerloss:", err)
	}
	return exitCode(err)
}

// check proves that the shutdown could run now: the UPS answers, the NUT
// account is a primary (for -fsd), Proxmox answers, and the token may
// power off every guest of the plan and the node.
func (g guard) check(ctx context.Context, w io.Writer) error {
	snap, err := g.ups.Snapshot(ctx)
	if err != nil {
		return err
	}
	if w != nil {
		fmt.Fprintf(w, "UPS %s: %s.\n", g.ups.Name(), snap.Status)
	}
	if g.fsd && !g.dryRun {
		if err := g.ups.Primary(ctx); err != nil {
			return fmt.Errorf("-fsd needs a upsmon primary login: %w", err)
		}
	}
	plan, err := g.pve.Power.PlanShutdown(ctx, g.plan)
	if err != nil {
		return err
	}
	if w != nil {
		fmt.Fprint(w, plan)
	}
	// Preflight: VM.PowerMgmt on every guest, Sys.Console for HA guests,
	// Sys.PowerMgmt on the node.
	return g.pve.Power.Preflight(ctx, plan)
}

// recheck runs check every interval until ctx ends, and says on stderr
// when the shutdown has become impossible, and when it is possible again.
func (g guard) recheck(ctx context.Context, every time.Duration, stdout, stderr io.Writer) {
	t := time.NewTicker(every)
	defer t.Stop()
	broken := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		switch err := g.check(ctx, nil); {
		case ctx.Err() != nil:
			return
		case err != nil:
			fmt.Fprintf(stderr, "powerloss: WARNING: a shutdown would fail now: %v\n", err)
			broken = true
		case broken:
			fmt.Fprintln(stdout, "The shutdown is possible again.")
			broken = false
		}
	}
}

// shutdown is the action the UPS monitor calls once it has decided: the
// ordered Proxmox shutdown, planned afresh since guests may have changed.
func (g guard) shutdown(w io.Writer) ups.Action {
	return func(ctx context.Context, d ups.Decision) error {
		g.stopChecks()
		fmt.Fprintf(w, "Decision: shut down, %s, after %s on battery.\n", d.Reason, d.OnBattery.Round(time.Second))
		plan, err := g.pve.Power.PlanShutdown(ctx, g.plan)
		if err != nil {
			return err
		}
		fmt.Fprint(w, plan)
		if d.DryRun {
			fmt.Fprintln(w, "Dry run: nothing was stopped.")
			return nil
		}
		res, err := g.pve.Power.Apply(ctx, plan, proxmox.ApplyOptions{OnEvent: func(e proxmox.Event) {
			switch e.Kind {
			case proxmox.EventGuestDone:
				fmt.Fprintf(w, "%s (%s): %s.\n", e.Guest, e.Name, e.Outcome)
			case proxmox.EventGuestFail:
				fmt.Fprintf(w, "%s (%s) FAILED to stop.\n", e.Guest, e.Name)
			case proxmox.EventNode:
				fmt.Fprintf(w, "Node %s is shutting down.\n", e.Node)
			}
		}})
		if err != nil {
			return fmt.Errorf("%d guest(s) failed: %w", len(res.Failed), err)
		}
		return nil
	}
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

// exitCode maps err to the exit status: 0 done, 1 the shutdown failed,
// 2 usage, 3 a device could not be asked or a privilege is missing.
func exitCode(err error) int {
	var (
		usage  usageError
		pvePin *proxmox.FingerprintMismatchError
		ca     x509.UnknownAuthorityError
		netErr net.Error
	)
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usage):
		return 2
	case errors.Is(err, proxmox.ErrUnavailable), errors.Is(err, proxmox.ErrAuth), errors.Is(err, proxmox.ErrPermission),
		errors.Is(err, ups.ErrUnavailable), errors.Is(err, ups.ErrAuth), errors.Is(err, ups.ErrPermission), errors.Is(err, ups.ErrUnknownUPS),
		errors.As(err, &pvePin), errors.As(err, &ca), errors.As(err, &netErr):
		return 3
	}
	return 1
}
