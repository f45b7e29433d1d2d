package ups

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/thehomelab/homelab/internal/clientcfg"
)

// Poller reads one UPS. *Device implements it; tests may supply their own.
type Poller interface {
	Snapshot(ctx context.Context) (Snapshot, error)
}

// Forcer sets the FSD latch on the UPS. *Device implements it.
type Forcer interface {
	FSD(ctx context.Context) error
}

// Action is what the caller does once the policy decides to shut down, for
// example an ordered Proxmox shutdown. When d.DryRun is set it must only
// report what it would do.
type Action func(ctx context.Context, d Decision) error

// MonitorConfig configures a Monitor. The zero value polls every 5 s (2 s on
// battery) with the default Policy, calls nothing and reports nothing.
type MonitorConfig struct {
	Policy        Policy        // shutdown triggers; zero fields take the defaults
	Interval      time.Duration // poll interval on line power; default 5 s
	AlertInterval time.Duration // poll interval on battery or after a failed poll; default 2 s
	OnEvent       func(Event)   // called synchronously for every event
	Shutdown      Action        // called once with the decision
	// ForwardFSD sets FSD on the UPS (through the Poller, which must be a
	// Forcer: NewMonitor refuses one that is not) before Shutdown runs, so
	// NUT secondaries on other hosts shut down too. upsd keeps that latch
	// until it restarts. Once the policy has decided, the FSD is sent even
	// when ctx ends meanwhile (a SIGTERM right after the decision); the
	// client's WithTimeout bounds it.
	ForwardFSD bool
	// DryRun runs the whole path but changes nothing: FSD is not sent and
	// Shutdown gets a Decision with DryRun set.
	DryRun bool
	// Check says whether the Shutdown action can still be carried out:
	// the hypervisor answers, the credentials work, the permissions are
	// there. A guard that cannot act is no guard: Run calls Check before
	// the first poll and refuses to start when it fails, then calls it
	// again every CheckInterval while it watches and reports each failure
	// as an EventNotReady (Err says why), and the recovery as an
	// EventReady. With ForwardFSD, a Poller that has a CheckPrimary
	// method (a Device) is checked the same way, so a wrong NUT password
	// fails at start, not during the outage; a DryRun without credentials
	// skips that check (it sends no FSD), one with credentials makes it.
	Check func(ctx context.Context) error
	// CheckInterval is how often the checks run while watching, and how
	// long one run may take; default 1 min. They run beside the polls and
	// never delay them.
	CheckInterval time.Duration
}

// primaryChecker is what the FSD check needs; *Device implements it.
type primaryChecker interface {
	CheckPrimary(ctx context.Context) error
}

// Monitor polls a UPS, feeds a Machine and acts once on its decision.
type Monitor struct {
	src    Poller
	cfg    MonitorConfig
	m      *Machine
	manual chan string
	buf    []Event
	ready  bool // the last check passed
}

// NewMonitor validates cfg and returns a monitor for src.
func NewMonitor(src Poller, cfg MonitorConfig) (*Monitor, error) {
	if src == nil {
		return nil, invalid("new monitor", "nil poller")
	}
	if cfg.Interval < 0 || cfg.AlertInterval < 0 || cfg.CheckInterval < 0 {
		return nil, invalid("new monitor", "negative interval")
	}
	if _, ok := src.(Forcer); cfg.ForwardFSD && !ok {
		// A guard asked to forward FSD that cannot would stay silent
		// towards the other NUT clients.
		return nil, invalid("new monitor", "ForwardFSD needs a Poller that can set FSD (a *Device)")
	}
	if cfg.CheckInterval == 0 {
		cfg.CheckInterval = time.Minute
	}
	if cfg.Interval == 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.AlertInterval == 0 {
		cfg.AlertInterval = 2 * time.Second
	}
	if cfg.AlertInterval > cfg.Interval {
		cfg.AlertInterval = cfg.Interval
	}
	m := NewMachine(cfg.Policy)
	if p := m.Policy(); p.DeadTime > 0 && p.DeadTime < 2*cfg.AlertInterval {
		return nil, invalid("new monitor", fmt.Sprintf("dead time %s must be at least twice the alert interval %s", p.DeadTime, cfg.AlertInterval))
	}
	return &Monitor{src: src, cfg: cfg, m: m, manual: make(chan string, 1), buf: make([]Event, 0, 8)}, nil
}

// Trigger asks the running monitor for a manual decision (a drill, or an
// operator's order). It does not block; a second call before the first is
// handled is dropped.
func (mo *Monitor) Trigger(reason string) {
	select {
	case mo.manual <- reason:
	default:
	}
}

// Run polls until the policy decides or ctx ends. On a decision it sends
// FSD if configured, calls the Shutdown action and returns the decision with
// the action's error. Each poll of a Device is bounded by the policy's
// DeadTime, or by its client's WithTimeout if that is shorter.
//
// When the checks fail at start (see MonitorConfig.Check), Run returns at
// once, before any poll, an *Error with Code CodeNotReady that wraps the
// check's error (errors.Is reaches the cause: ErrAccessDenied for a wrong
// NUT password, or the caller's own error).
func (mo *Monitor) Run(ctx context.Context) (Decision, error) {
	var checks <-chan error
	if mo.hasChecks() {
		if err := mo.Check(ctx); err != nil {
			return Decision{}, err
		}
		mo.ready = true
		cctx, cancel := context.WithCancel(ctx)
		ch := make(chan error)
		done := make(chan struct{})
		go func() { defer close(done); mo.recheck(cctx, ch) }()
		defer func() { cancel(); <-done }()
		checks = ch
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		var dec Decision
		select {
		case <-ctx.Done():
			return Decision{}, ctx.Err()
		case err := <-checks:
			mo.checked(err)
			continue
		case reason := <-mo.manual:
			mo.buf, dec = mo.m.Trigger(time.Now(), reason, mo.buf[:0])
		case <-timer.C:
			at := time.Now()
			snap, err := mo.poll(ctx)
			if cerr := ctx.Err(); cerr != nil {
				return Decision{}, cerr
			}
			mo.buf, dec = mo.m.Observe(at, snap, err, mo.buf[:0])
		}
		if mo.cfg.OnEvent != nil {
			for _, e := range mo.buf {
				mo.cfg.OnEvent(e)
			}
		}
		if dec.Shutdown {
			return mo.act(ctx, dec)
		}
		next := mo.cfg.Interval
		if mo.m.OnBattery() || mo.m.CommBad() {
			next = mo.cfg.AlertInterval
		}
		timer.Reset(next)
	}
}

// Check runs the checks of MonitorConfig.Check (and CheckPrimary with
// ForwardFSD) once, as Run does before its first poll, and returns nil or
// the same error Run would: an *Error with Code CodeNotReady wrapping the
// cause. A program calls it to say "watching" only once the guard can act;
// Run checks again.
func (mo *Monitor) Check(ctx context.Context) error {
	if !mo.hasChecks() {
		return nil
	}
	if err := mo.check(ctx); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return &Error{Op: "monitor", Code: CodeNotReady, Message: "the shutdown could not be carried out, so the guard does not start", Err: err}
	}
	return nil
}

func (mo *Monitor) hasChecks() bool {
	_, ok := mo.src.(primaryChecker)
	return mo.cfg.Check != nil || (ok && mo.cfg.ForwardFSD)
}

// check runs every check once and joins their failures. A check that
// takes longer than CheckInterval fails: a hypervisor that does not answer
// in that time would not answer when the battery runs out either.
func (mo *Monitor) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, mo.cfg.CheckInterval)
	defer cancel()
	var errs []error
	if pc, ok := mo.src.(primaryChecker); ok && mo.cfg.ForwardFSD {
		err := pc.CheckPrimary(ctx)
		var e *Error
		if mo.cfg.DryRun && errors.As(err, &e) && e.local && e.Code == CodeUsernameRequired {
			// A drill sends no FSD, so it may run without a login; with
			// one, it checks that FSD would be allowed.
			err = nil
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if mo.cfg.Check != nil {
		if err := mo.cfg.Check(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// recheck runs the checks every CheckInterval and hands each result to
// Run, which reports it; it ends with ctx.
func (mo *Monitor) recheck(ctx context.Context, out chan<- error) {
	t := time.NewTimer(mo.cfg.CheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := mo.check(ctx)
		if ctx.Err() != nil {
			return
		}
		select {
		case out <- err:
		case <-ctx.Done():
			return
		}
		t.Reset(mo.cfg.CheckInterval)
	}
}

// checked reports a check's result: every failure, loudly, and the
// recovery once.
func (mo *Monitor) checked(err error) {
	e := Event{Time: time.Now(), Status: mo.m.last.Status}
	switch {
	case err != nil:
		mo.ready = false
		e.Kind, e.Err = EventNotReady, err
	case !mo.ready:
		mo.ready = true
		e.Kind = EventReady
	default:
		return
	}
	if mo.cfg.OnEvent != nil {
		mo.cfg.OnEvent(e)
	}
}

// poll reads the UPS once. A Device whose client's WithTimeout (30 s by
// default) is longer than the policy's DeadTime is bounded by DeadTime: a
// poll that takes longer is comm loss anyway, and a hanging upsd must not
// hold the machine past it.
func (mo *Monitor) poll(ctx context.Context) (Snapshot, error) {
	if d, ok := mo.src.(*Device); ok && mo.m.Policy().DeadTime > 0 && d.c.cfg.Timeout > mo.m.Policy().DeadTime {
		dt := mo.m.Policy().DeadTime
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dt)
		defer cancel()
	}
	return mo.src.Snapshot(ctx)
}

// fsdTimeout bounds the FSD sent after a decision: the client's
// WithTimeout for a Device, clientcfg's default otherwise.
func (mo *Monitor) fsdTimeout() time.Duration {
	if d, ok := mo.src.(*Device); ok && d.c.cfg.Timeout > 0 {
		return d.c.cfg.Timeout
	}
	return clientcfg.DefaultTimeout
}

func (mo *Monitor) act(ctx context.Context, dec Decision) (Decision, error) {
	dec.DryRun = mo.cfg.DryRun
	var errs []error
	if f, ok := mo.src.(Forcer); ok && mo.cfg.ForwardFSD && !dec.DryRun && dec.Trigger != TriggerFSD {
		// The decision is made: the other NUT clients must hear of it even
		// when ctx ends now (a SIGTERM right after the decision, the host
		// going down). Only the client's timeout bounds the FSD.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mo.fsdTimeout())
		err := f.FSD(fctx)
		cancel()
		if err != nil {
			errs = append(errs, err)
		}
	}
	if mo.cfg.Shutdown != nil {
		if err := mo.cfg.Shutdown(ctx, dec); err != nil {
			errs = append(errs, err)
		}
	}
	return dec, errors.Join(errs...)
}
