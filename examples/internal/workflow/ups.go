package workflow

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
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
	// CheckFSD checks, changing nothing, that the NUT login will be allowed
	// to set FSD (a login as upsmon primary). PowerLoss calls it with
	// ForwardFSD at start and at every re-check; nil skips it.
	CheckFSD func(ctx context.Context) error
	// CheckInterval is how often the watch checks again that the shutdown
	// is still possible; zero means 5 min, negative never.
	CheckInterval time.Duration
}

// NotReadyError says why the guard cannot act: every problem found, each
// with what to fix. errors.Is reaches each problem's class (proxmox.ErrAuth,
// ups.ErrPermission, …).
type NotReadyError struct {
	Problems []error
}

// Error lists the problems, one a line.
func (e *NotReadyError) Error() string {
	var b strings.Builder
	b.WriteString("the guard cannot act:")
	for _, p := range e.Problems {
		b.WriteString("\n   - ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns the problems.
func (e *NotReadyError) Unwrap() []error { return e.Problems }

// CheckPowerLoss checks, changing nothing, everything PowerLoss needs to
// act when the battery runs low: the Proxmox API answers and accepts the
// credentials, the shutdown plan can be built, the API identity may power
// off every guest of the plan (VM.PowerMgmt) and the node (Sys.PowerMgmt),
// and, with ForwardFSD, the NUT login may set FSD. It returns nil or a
// *NotReadyError listing every problem.
func CheckPowerLoss(ctx context.Context, pve *proxmox.Client, cfg PowerLossConfig) error {
	var problems []error
	plan, err := pve.Power.PlanShutdown(ctx, proxmox.PlanOptions{Last: cfg.Shutdown.Last, ShutdownNodes: cfg.Shutdown.Node})
	if err == nil {
		err = pve.Power.Check(ctx, plan)
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if err != nil {
		problems = append(problems, withHint(err))
	}
	if cfg.ForwardFSD && cfg.CheckFSD != nil {
		if err := cfg.CheckFSD(ctx); err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			problems = append(problems, withHint(err))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &NotReadyError{Problems: problems}
}

// withHint adds what to do to the errors a user fixes in the
// configuration.
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
	case errors.Is(err, ups.ErrAccessDenied):
		hint = "upsd refused the NUT login as primary, which FSD needs: check the password (NUT_USER, NUT_PASSWORD) and that upsd.users gives the user \"upsmon primary\""
	case errors.Is(err, ups.ErrUnavailable):
		hint = "upsd did not answer: check the address (-ups name@host:3493) and that upsd listens there"
	}
	if hint == "" {
		return err
	}
	return fmt.Errorf("%w\n     fix: %s", err, hint)
}

// syncWriter serialises the story's lines: the re-check writes from its
// own goroutine.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// PowerLoss watches the UPS until its policy decides that the power is not
// coming back in time, then shuts the Proxmox guests down in order (the
// NAS last) and the node. It returns the decision; it runs until then or
// until ctx ends.
//
// This is the composition the packages are built for: ups declares the
// Action function type, and the action here is proxmox's ordered shutdown.
//
// Before watching it checks that it can act (CheckPowerLoss) and refuses
// to start otherwise: a guard that cannot shut down is no guard. While
// watching it checks again every CheckInterval and says loudly when the
// shutdown has become impossible, and when it is possible again; the
// watch goes on either way.
func PowerLoss(ctx context.Context, w io.Writer, u ups.Poller, pve *proxmox.Client, cfg PowerLossConfig) (ups.Decision, error) {
	w = &syncWriter{w: w}
	if err := CheckPowerLoss(ctx, pve, cfg); err != nil {
		return ups.Decision{}, fmt.Errorf("power loss: not watching: %w", err)
	}
	what := "power off the guests and the node"
	if !cfg.Shutdown.Node {
		what = "power off the guests"
	}
	if cfg.ForwardFSD && cfg.CheckFSD != nil {
		what += ", and set FSD"
	}
	say(w, "checked: this guard may %s", what)
	snap, err := u.Snapshot(ctx)
	if err != nil {
		return ups.Decision{}, fmt.Errorf("power loss: %w", err)
	}
	say(w, "ups: %s%s%s", snap.Status, optional(", charge %.0f%%", snap.Charge), optional(", runtime %s", snap.Runtime))
	stopChecks := recheck(ctx, w, pve, cfg)
	defer stopChecks()
	m, err := ups.NewMonitor(u, ups.MonitorConfig{
		Policy:        cfg.Policy,
		Interval:      cfg.Interval,
		AlertInterval: cfg.AlertInterval,
		ForwardFSD:    cfg.ForwardFSD,
		DryRun:        cfg.DryRun,
		OnEvent: func(e ups.Event) {
			say(w, "event: %s", e)
		},
		Shutdown: func(ctx context.Context, d ups.Decision) error {
			stopChecks() // no warnings in the middle of the shutdown
			say(w, "decision: shut down, %s, after %s on battery", d.Reason, d.OnBattery.Round(time.Millisecond))
			sc := cfg.Shutdown
			sc.DryRun = sc.DryRun || d.DryRun
			return Shutdown(ctx, w, pve, sc)
		},
	})
	if err != nil {
		return ups.Decision{}, fmt.Errorf("power loss: %w", err)
	}
	say(w, "watching the UPS")
	d, err := m.Run(ctx)
	stopChecks()
	if err != nil {
		return d, fmt.Errorf("power loss: %w", err)
	}
	return d, nil
}

// recheck runs CheckPowerLoss every cfg.CheckInterval until the returned
// stop is called (stop waits for a check under way), and says when the
// outcome changes.
func recheck(ctx context.Context, w io.Writer, pve *proxmox.Client, cfg PowerLossConfig) (stop func()) {
	every := cfg.CheckInterval
	if every == 0 {
		every = 5 * time.Minute
	}
	if every < 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		last := ""
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			err := CheckPowerLoss(ctx, pve, cfg)
			if ctx.Err() != nil {
				return
			}
			switch {
			case err != nil && err.Error() != last:
				say(w, "!!! WARNING: the guard can no longer act; the watch goes on, but fix this now:")
				problems := []error{err}
				var nr *NotReadyError
				if errors.As(err, &nr) {
					problems = nr.Problems
				}
				for _, p := range problems {
					for _, line := range strings.Split(p.Error(), "\n") {
						say(w, "!!! %s", strings.TrimSpace(line))
					}
				}
				last = err.Error()
			case err == nil && last != "":
				say(w, "ok again: the guard can act again (re-checked %s)", time.Now().Format(time.TimeOnly))
				last = ""
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}

func optional[T any](format string, o ups.Optional[T]) string {
	v, ok := o.Get()
	if !ok {
		return ""
	}
	return fmt.Sprintf(format, v)
}
