package workflow

import (
	"context"
	"fmt"
	"io"
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
}

// PowerLoss watches the UPS until its policy decides that the power is not
// coming back in time, then shuts the Proxmox guests down in order (the
// NAS last) and the node. It returns the decision; it runs until then or
// until ctx ends.
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
				say(w, "WARNING: the shutdown could not be carried out now: %v", e.Err)
			case ups.EventReady:
				say(w, "the shutdown can be carried out again")
			default:
				say(w, "event: %s", e)
			}
		},
		// A guard that cannot act is no guard: Proxmox must answer with
		// this token at start (else the guard refuses to start) and
		// while it watches. With ForwardFSD the monitor also checks the
		// NUT primary login itself.
		Check: func(ctx context.Context) error {
			_, err := pve.Version(ctx)
			return err
		},
		Shutdown: func(ctx context.Context, d ups.Decision) error {
			say(w, "decision: shut down, %s, after %s on battery", d.Reason, d.OnBattery.Round(time.Millisecond))
			sc := cfg.Shutdown
			sc.DryRun = sc.DryRun || d.DryRun
			return Shutdown(ctx, w, pve, sc)
		},
	})
	if err != nil {
		return ups.Decision{}, fmt.Errorf("power loss: %w", err)
	}
	if err := m.Check(ctx); err != nil {
		return ups.Decision{}, fmt.Errorf("power loss: %w", err)
	}
	say(w, "watching the UPS")
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
