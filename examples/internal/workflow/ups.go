package workflow

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/ups"
)

// PowerLossConfig configures the power-loss guard.
type PowerLossConfig struct {
	// Policy says when an outage ends in a shutdown; the zero value is the
	// package's defaults (low battery, 30 % charge, 5 min runtime, 10 min
	// on battery).
	Policy ups.Policy
	// Interval and AlertInterval are the poll intervals on line power and
	// on battery; zero means 5 s and 2 s.
	Interval, AlertInterval time.Duration
	// Shutdown is what happens to the Proxmox guests and node.
	Shutdown ShutdownConfig
	// ForwardFSD sets FSD on the UPS before shutting down, so other NUT
	// clients (the NAS) shut down too.
	ForwardFSD bool
	// DryRun goes the whole way but changes nothing: no FSD, and the
	// shutdown only prints its plan.
	DryRun bool
	// CheckInterval is how often the watch checks again that the shutdown
	// is still possible (CheckShutdown, and the NUT primary login with
	// ForwardFSD); zero means the ups package's default, 1 min.
	CheckInterval time.Duration
	// OnEvent, when set, receives the guard's changes of state as they
	// happen, beside the lines printed (a service tracks the guard with
	// it rather than by reading the lines). It is called from the guard's
	// goroutine and must not block.
	OnEvent func(GuardEvent)
}

// GuardEventKind is what happened to the power-loss guard.
type GuardEventKind int

// The guard's events, in the order they may come.
const (
	// GuardWatching: the checks passed, the guard watches the UPS.
	GuardWatching GuardEventKind = iota
	// GuardCannotAct: a recheck failed; the guard watches on but could not
	// shut the lab down now (Err says why).
	GuardCannotAct
	// GuardOKAgain: the recheck passes again after GuardCannotAct.
	GuardOKAgain
	// GuardDecided: the policy decided to shut down (Decision).
	GuardDecided
	// GuardShutDown: the ordered shutdown ended (Err if it failed).
	GuardShutDown
)

func (k GuardEventKind) String() string {
	switch k {
	case GuardWatching:
		return "watching"
	case GuardCannotAct:
		return "cannot act"
	case GuardOKAgain:
		return "ok again"
	case GuardDecided:
		return "decided"
	case GuardShutDown:
		return "shut down"
	}
	return fmt.Sprintf("GuardEventKind(%d)", int(k))
}

// GuardEvent is one change of the power-loss guard's state.
type GuardEvent struct {
	Kind GuardEventKind
	Time time.Time
	// Err is why the guard cannot act (GuardCannotAct) or why the
	// shutdown failed (GuardShutDown).
	Err error
	// Decision is the policy's decision (GuardDecided, GuardShutDown).
	Decision ups.Decision
}

func (cfg PowerLossConfig) emit(e GuardEvent) {
	if cfg.OnEvent != nil {
		e.Time = time.Now()
		cfg.OnEvent(e)
	}
}

// CheckShutdown checks, changing nothing, everything the ordered shutdown
// needs from Proxmox: the API answers and accepts the credentials, the
// plan can be built, and the API identity may power off every guest of
// the plan (VM.PowerMgmt) and the node (Sys.PowerMgmt). Its error says
// what to fix.
func CheckShutdown(ctx context.Context, pve *proxmox.Client, cfg ShutdownConfig) error {
	plan, err := pve.Power.PlanShutdown(ctx, proxmox.PlanOptions{Last: cfg.Last, ShutdownNodes: cfg.Node})
	if err == nil {
		err = pve.Power.Preflight(ctx, plan)
	}
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return withHint(err)
}

// withHint adds what to do to the Proxmox errors a user fixes in the
// configuration; errors that already say it stay as they are.
func withHint(err error) error {
	var mm *proxmox.FingerprintMismatchError
	hint := ""
	switch {
	case errors.As(err, &mm):
		hint = fmt.Sprintf("the certificate is not the pinned one; if the node's certificate was renewed, pin the new one: -proxmox-fingerprint %s", mm.Got)
	case errors.Is(err, proxmox.ErrAuth):
		hint = "the Proxmox API refused the credentials: check the API token id and secret (PROXMOX_TOKEN_ID, PROXMOX_TOKEN_SECRET; Datacenter > Permissions > API Tokens)"
	case errors.As(err, new(*tls.CertificateVerificationError)) || errors.Is(err, http.ErrSchemeMismatch):
		// the SDK's error already says what to do (the fingerprint to pin,
		// the port that speaks plain http)
	case errors.Is(err, proxmox.ErrUnavailable):
		hint = "the Proxmox API did not answer: check the address (-proxmox https://host:8006) and that the node is up"
	}
	if hint == "" {
		return err
	}
	return fmt.Errorf("%w\n     fix: %s", err, hint)
}

// PowerLoss watches the UPS until its policy decides that the power is not
// coming back in time, then shuts the Proxmox guests down in order (the
// NAS last) and the node. It returns the decision; it runs until then or
// until ctx ends.
//
// Once the policy has decided, the shutdown no longer ends with ctx: it
// runs to its end, bounded by the plan's timeouts (see Shutdown).
//
// This is the composition the packages are built for: ups declares the
// Action function type, and the action here is proxmox's ordered shutdown.
func PowerLoss(ctx context.Context, w io.Writer, u ups.Poller, pve *proxmox.Client, cfg PowerLossConfig) (ups.Decision, error) {
	snap, err := u.Snapshot(ctx)
	if err != nil {
		return ups.Decision{}, fmt.Errorf("power loss: %w", err)
	}
	say(w, "ups: %s%s%s", snap.Status, optional(", charge %.0f%%", snap.Charge), optional(", runtime %s", snap.Runtime))
	m, err := ups.NewMonitor(u, ups.MonitorConfig{
		Policy:        cfg.Policy,
		Interval:      cfg.Interval,
		AlertInterval: cfg.AlertInterval,
		ForwardFSD:    cfg.ForwardFSD,
		DryRun:        cfg.DryRun,
		OnEvent: func(e ups.Event) {
			switch e.Kind {
			case ups.EventNotReady:
				say(w, "!!! WARNING: the guard can no longer act; the watch goes on, but fix this now:")
				for _, line := range strings.Split(e.Err.Error(), "\n") {
					say(w, "!!! %s", strings.TrimSpace(line))
				}
				cfg.emit(GuardEvent{Kind: GuardCannotAct, Err: e.Err})
			case ups.EventReady:
				say(w, "ok again: the guard can act again")
				cfg.emit(GuardEvent{Kind: GuardOKAgain})
			default:
				say(w, "event: %s", e)
			}
		},
		// A guard that cannot act is no guard: the shutdown must be
		// possible at start (else the guard refuses to start) and while
		// it watches. With ForwardFSD the monitor also checks the NUT
		// primary login itself.
		Check: func(ctx context.Context) error {
			return CheckShutdown(ctx, pve, cfg.Shutdown)
		},
		CheckInterval: cfg.CheckInterval,
		Shutdown: func(ctx context.Context, d ups.Decision) error {
			say(w, "decision: shut down, %s, after %s on battery", d.Reason, d.OnBattery.Round(time.Millisecond))
			cfg.emit(GuardEvent{Kind: GuardDecided, Decision: d})
			sc := cfg.Shutdown
			sc.DryRun = sc.DryRun || d.DryRun
			// Once decided, the shutdown goes to its end: a SIGTERM now
			// (systemd stopping the service, the machine itself going
			// down) must not leave the guests half stopped. It is bounded
			// by the clients' timeouts and the plan's own (see Shutdown).
			err := Shutdown(context.WithoutCancel(ctx), w, pve, sc)
			cfg.emit(GuardEvent{Kind: GuardShutDown, Decision: d, Err: err})
			return err
		},
	})
	if err != nil {
		return ups.Decision{}, fmt.Errorf("power loss: %w", err)
	}
	if err := m.Check(ctx); err != nil {
		return ups.Decision{}, fmt.Errorf("power loss: %w", err)
	}
	what := "power off the guests and the node"
	if !cfg.Shutdown.Node {
		what = "power off the guests"
	}
	say(w, "checked: this guard may %s", what)
	say(w, "watching the UPS")
	cfg.emit(GuardEvent{Kind: GuardWatching})
	d, err := m.Run(ctx)
	if err != nil {
		return d, fmt.Errorf("power loss: %w", err)
	}
	return d, nil
}

func optional[T any](format string, o ups.Optional[T]) string {
	v, ok := o.Get()
	if !ok {
		return ""
	}
	return fmt.Sprintf(format, v)
}
