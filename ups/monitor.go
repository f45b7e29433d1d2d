package ups

import (
	"context"
	"errors"
	"fmt"
	"time"
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
	// ForwardFSD sets FSD on the UPS (through the Poller, if it is a Forcer)
	// before Shutdown runs, so NUT secondaries on other hosts shut down too.
	// upsd keeps that latch until it restarts.
	ForwardFSD bool
	// DryRun runs the whole path but changes nothing: FSD is not sent and
	// Shutdown gets a Decision with DryRun set.
	DryRun bool
}

// Monitor polls a UPS, feeds a Machine and acts once on its decision.
type Monitor struct {
	src    Poller
	cfg    MonitorConfig
	m      *Machine
	manual chan string
	buf    []Event
}

// NewMonitor validates cfg and returns a monitor for src.
func NewMonitor(src Poller, cfg MonitorConfig) (*Monitor, error) {
	if src == nil {
		return nil, invalid("new monitor", "nil poller")
	}
	if cfg.Interval < 0 || cfg.AlertInterval < 0 {
		return nil, invalid("new monitor", "negative poll interval")
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
// the action's error. Each poll is bounded by the policy's DeadTime (and
// by the Poller's own timeout, for a Client WithTimeout, if shorter).
func (mo *Monitor) Run(ctx context.Context) (Decision, error) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		var dec Decision
		select {
		case <-ctx.Done():
			return Decision{}, ctx.Err()
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

func (mo *Monitor) act(ctx context.Context, dec Decision) (Decision, error) {
	dec.DryRun = mo.cfg.DryRun
	var errs []error
	if f, ok := mo.src.(Forcer); ok && mo.cfg.ForwardFSD && !dec.DryRun && dec.Trigger != TriggerFSD {
		if err := f.FSD(ctx); err != nil {
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
