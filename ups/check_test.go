package ups_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/secret"
	"github.com/thehomelab/homelab/ups"
	"github.com/thehomelab/homelab/ups/upstest"
)

var errNoToken = errors.New("proxmox: 401 invalid token")

// A guard that cannot act is no guard: a failing check refuses the start,
// before any poll, and says why.
func TestMonitorRefusesToStartWhenCheckFails(t *testing.T) {
	t.Parallel()
	p := &scriptPoller{start: time.Now(), fn: func(time.Duration) (ups.Snapshot, error) {
		return snap(state{status: "OL", charge: 100, runtime: -1}), nil
	}}
	called := false
	m, err := ups.NewMonitor(p, ups.MonitorConfig{
		Check:    func(context.Context) error { return errNoToken },
		Shutdown: func(context.Context, ups.Decision) error { called = true; return nil },
	})
	require.NoError(t, err)
	_, err = m.Run(t.Context())
	require.Error(t, err)
	assert.ErrorIs(t, err, errNoToken)
	assertCode(t, err, ups.CodeNotReady)
	assert.Contains(t, err.Error(), "does not start")
	assert.False(t, errors.Is(err, ups.ErrUnavailable), "the class is the cause's")
	assert.Zero(t, p.polls)
	assert.False(t, called)

	err = m.Check(t.Context())
	assert.ErrorIs(t, err, errNoToken, "Check says the same, once")
	assertCode(t, err, ups.CodeNotReady)
	none, err := ups.NewMonitor(p, ups.MonitorConfig{})
	require.NoError(t, err)
	assert.NoError(t, none.Check(t.Context()), "nothing to check")
}

// While it watches, the monitor re-checks every CheckInterval beside the
// polls, reports every failure loudly and the recovery once, and keeps
// watching.
func TestMonitorRechecksOnFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		p := &scriptPoller{start: start, fn: func(time.Duration) (ups.Snapshot, error) {
			return snap(state{status: "OL", charge: 100, runtime: -1}), nil
		}}
		var checks atomic.Int32
		check := func(context.Context) error {
			checks.Add(1)
			d := time.Since(start)
			if d >= 2*time.Minute && d < 4*time.Minute {
				return errNoToken // the token was revoked, then restored
			}
			return nil
		}
		type ev struct {
			kind ups.EventKind
			at   time.Duration
			err  error
		}
		var events []ev
		m, err := ups.NewMonitor(p, ups.MonitorConfig{
			Check: check,
			OnEvent: func(e ups.Event) {
				events = append(events, ev{e.Kind, e.Time.Sub(start), e.Err})
			},
		})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute+time.Second)
		defer cancel()
		_, err = m.Run(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, []ev{
			{ups.EventNotReady, 2 * time.Minute, errNoToken},
			{ups.EventNotReady, 3 * time.Minute, errNoToken},
			{ups.EventReady, 4 * time.Minute, nil},
		}, events)
		assert.Equal(t, int32(1+10), checks.Load(), "at start, then every minute")
		assert.Equal(t, 10*60/5+1, p.polls, "the checks never delay the polls")
	})
}

// A check that hangs does not hold the polls back: the UPS is still
// watched and the shutdown still decided.
func TestMonitorSlowCheckDoesNotDelayPolls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		p := &scriptPoller{start: start, fn: func(d time.Duration) (ups.Snapshot, error) {
			if d >= 2*time.Minute {
				return snap(state{status: "OB LB", charge: 10, runtime: -1}), nil
			}
			return snap(state{status: "OL", charge: 100, runtime: -1}), nil
		}}
		first := true
		var notReady []ups.Event
		m, err := ups.NewMonitor(p, ups.MonitorConfig{
			CheckInterval: 30 * time.Second,
			OnEvent: func(e ups.Event) {
				if e.Kind == ups.EventNotReady {
					notReady = append(notReady, e)
				}
			},
			Check: func(ctx context.Context) error {
				if first {
					first = false
					return nil
				}
				<-ctx.Done() // hangs until its time is up
				return ctx.Err()
			},
		})
		require.NoError(t, err)
		dec, err := m.Run(t.Context())
		require.NoError(t, err)
		assert.Equal(t, ups.TriggerLowBattery, dec.Trigger)
		assert.Equal(t, 2*time.Minute, dec.Time.Sub(start))
		// The check started at 30 s times out at 60 s: a check that does
		// not answer within its interval says the guard cannot act. (The
		// next one ends at 120 s, with the decision.)
		require.NotEmpty(t, notReady)
		assert.ErrorIs(t, notReady[0].Err, context.DeadlineExceeded)
		assert.Equal(t, time.Minute, notReady[0].Time.Sub(start))
	})
}

// -fsd with a wrong NUT password: the monitor checks PRIMARY at start and
// refuses, instead of failing FSD during the outage (issue 16).
func TestMonitorForwardFSDChecksPrimary(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	cfg := func(fsd, dry bool) ups.MonitorConfig {
		return ups.MonitorConfig{ForwardFSD: fsd, DryRun: dry, Interval: 10 * time.Millisecond, AlertInterval: 10 * time.Millisecond,
			Policy: ups.Policy{DeadTime: time.Second}}
	}
	// A refusal returns at once; a monitor that got past its start checks
	// is stopped by its first poll (context.Canceled). A 100 ms deadline
	// raced the start check in a loaded race run, and a check cut short
	// also ends in DeadlineExceeded, so it could not tell "watches" apart.
	run := func(c *ups.Client, cfg ups.MonitorConfig) error {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		m, err := ups.NewMonitor(firstPollStops{c.Device("ups"), cancel}, cfg)
		require.NoError(t, err)
		_, err = m.Run(ctx)
		return err
	}

	wrong := dial(t, s, ups.WithCredentials("monuser", secret.New("wrong")))
	err := run(wrong, cfg(true, false))
	require.Error(t, err)
	assert.ErrorIs(t, err, ups.ErrAccessDenied)
	assertCode(t, err, ups.CodeNotReady)
	assert.Contains(t, err.Error(), "upsmon primary")
	assert.NotContains(t, err.Error(), "wrong", "never the password")
	assert.False(t, s.FSDSet("ups"))

	admin := dial(t, s, admin()) // actions = FSD, but no upsmon primary
	assert.ErrorIs(t, run(admin, cfg(true, false)), ups.ErrAccessDenied)

	anon := dial(t, s)
	assert.ErrorIs(t, run(anon, cfg(true, false)), ups.ErrAuth, "no credentials at all")
	assert.ErrorIs(t, run(anon, cfg(false, false)), context.Canceled, "without -fsd no login is needed")
	assert.ErrorIs(t, run(anon, cfg(true, true)), context.Canceled, "a drill sends no FSD and needs no login")
	assert.ErrorIs(t, run(wrong, cfg(true, true)), ups.ErrAccessDenied, "a drill with credentials checks them")

	mon := dial(t, s, ups.WithCredentials("monuser", secret.New(monPass)))
	assert.ErrorIs(t, run(mon, cfg(true, false)), context.Canceled, "the right primary watches")
	assert.False(t, s.FSDSet("ups"), "the check changes nothing")
}

// firstPollStops is a Device (its checks and FSD included) whose first
// poll ends the run: the monitor got past its start checks and watches.
type firstPollStops struct {
	*ups.Device
	stop context.CancelFunc
}

func (p firstPollStops) Snapshot(ctx context.Context) (ups.Snapshot, error) {
	defer p.stop()
	return p.Device.Snapshot(ctx)
}

func TestCheckPrimary(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	ctx := t.Context()
	mon := dial(t, s, ups.WithCredentials("monuser", secret.New(monPass)))
	require.NoError(t, mon.Device("ups").CheckPrimary(ctx))
	require.NoError(t, mon.Device("ups").CheckPrimary(ctx), "repeatable: an access check only")
	n, err := mon.Device("ups").NumLogins(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "no LOGIN")
	assert.ErrorIs(t, mon.Device("nosuch").CheckPrimary(ctx), ups.ErrUnknownUPS)

	s.Inject(upstest.Fault{Kind: upstest.Hang, Verb: "PRIMARY"})
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, mon.Device("ups").CheckPrimary(short), context.DeadlineExceeded)
}

func TestMonitorForwardFSDNeedsAForcer(t *testing.T) {
	t.Parallel()
	p := &scriptPoller{start: time.Now(), fn: func(time.Duration) (ups.Snapshot, error) { return ups.Snapshot{}, nil }}
	_, err := ups.NewMonitor(p, ups.MonitorConfig{ForwardFSD: true})
	assert.ErrorIs(t, err, ups.ErrInvalid)
	assert.ErrorContains(t, err, "ForwardFSD")
}
