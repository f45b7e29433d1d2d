package ups_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/secret"
	"github.com/thehomelab/homelab/ups"
	"github.com/thehomelab/homelab/ups/upstest"
)

// recorder collects events and the decision passed to the action.
type recorder struct {
	mu      sync.Mutex
	events  []string
	actions []ups.Decision
}

func (r *recorder) onEvent(e ups.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e.Kind.String())
}

func (r *recorder) action(_ context.Context, d ups.Decision) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.actions = append(r.actions, d)
	return nil
}

// fastConfig polls every few milliseconds. DeadTime also bounds each poll
// of a Device: at 100 ms a poll slowed down by a loaded race run came back
// as a comm failure (an extra COMMBAD, or a comm-lost decision before the
// monitor saw OB). 3 s is far above any poll of the local fake; the driver
// test below waits it out once.
func fastConfig(r *recorder) ups.MonitorConfig {
	return ups.MonitorConfig{
		Interval: 20 * time.Millisecond, AlertInterval: 10 * time.Millisecond,
		Policy:  ups.Policy{OnBatteryDelay: 30 * time.Millisecond, DeadTime: 3 * time.Second},
		OnEvent: r.onEvent, Shutdown: r.action,
	}
}

func TestMonitorOverTheWire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		dryRun  bool
		wantFSD bool
	}{
		{"drill", true, false},
		{"live", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFake(t)
			s.Play("ups",
				upstest.Step{At: 60 * time.Millisecond, Status: "OB DISCHRG", Vars: map[string]string{"battery.charge": "80"}},
				upstest.Step{At: 200 * time.Millisecond, Status: "OB DISCHRG LB", Vars: map[string]string{"battery.charge": "15"}},
			)
			c := dial(t, s, ups.WithCredentials("monuser", secret.New(monPass)))
			d := c.Device("ups")
			require.NoError(t, d.Login(t.Context()))
			require.NoError(t, d.Primary(t.Context()))
			var r recorder
			cfg := fastConfig(&r)
			cfg.Policy.MinCharge = -1 // let LB decide
			cfg.DryRun, cfg.ForwardFSD = tt.dryRun, true
			m, err := ups.NewMonitor(d, cfg)
			require.NoError(t, err)
			dec, err := m.Run(t.Context())
			require.NoError(t, err)
			assert.Equal(t, ups.TriggerLowBattery, dec.Trigger)
			assert.Equal(t, tt.dryRun, dec.DryRun)
			assert.Equal(t, []string{"ONBATT", "LOWBATT", "SHUTDOWN"}, r.events)
			require.Len(t, r.actions, 1)
			assert.Equal(t, tt.dryRun, r.actions[0].DryRun)
			assert.Equal(t, tt.wantFSD, s.FSDSet("ups"), "drill sends no FSD")
			assert.Empty(t, s.InstCmds())
		})
	}
}

func TestMonitorDriverDownWhileOnBattery(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	s.SetStatus("ups", "OB DISCHRG")
	c := dial(t, s)
	var r recorder
	cfg := fastConfig(&r)
	cfg.Policy.MinCharge, cfg.Policy.MinRuntime = -1, -1
	// The driver goes down right after the monitor has seen OB, however
	// slowly a loaded machine gets to the first poll (a timed step raced it).
	cfg.OnEvent = func(e ups.Event) {
		r.onEvent(e)
		if e.Kind == ups.EventOnBattery {
			s.SetDriver("ups", upstest.Down)
		}
	}
	m, err := ups.NewMonitor(c.Device("ups"), cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	dec, err := m.Run(ctx)
	require.NoError(t, err)
	assert.Equal(t, ups.TriggerCommLost, dec.Trigger, dec.Reason)
	assert.Equal(t, []string{"ONBATT", "COMMBAD", "NOCOMM", "SHUTDOWN"}, r.events)
}

func TestMonitorManualDrillAndActionError(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := dial(t, s)
	boom := errors.New("guest 101 ignored ACPI")
	var got ups.Decision
	m, err := ups.NewMonitor(c.Device("ups"), ups.MonitorConfig{
		DryRun: true, Interval: 10 * time.Millisecond,
		Policy:   ups.Policy{DeadTime: time.Second},
		Shutdown: func(_ context.Context, d ups.Decision) error { got = d; return boom },
	})
	require.NoError(t, err)
	m.Trigger("quarterly drill")
	dec, err := m.Run(t.Context())
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, ups.TriggerManual, dec.Trigger)
	assert.True(t, got.DryRun)
	assert.Equal(t, "manual trigger: quarterly drill", got.Reason)
}

func TestMonitorStopsWithContext(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := dial(t, s)
	m, err := ups.NewMonitor(c.Device("ups"), ups.MonitorConfig{Interval: 10 * time.Millisecond, Policy: ups.Policy{DeadTime: time.Second}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	dec, err := m.Run(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, dec.Shutdown)

	_, err = ups.NewMonitor(nil, ups.MonitorConfig{})
	assert.Error(t, err)
	_, err = ups.NewMonitor(c.Device("ups"), ups.MonitorConfig{AlertInterval: 10 * time.Second, Policy: ups.Policy{DeadTime: time.Second}})
	assert.Error(t, err, "dead time below two alert intervals")
}

// scriptPoller answers from a function of the (fake) time since start and
// counts polls.
type scriptPoller struct {
	start time.Time
	polls int
	fn    func(time.Duration) (ups.Snapshot, error)
}

func (p *scriptPoller) Snapshot(context.Context) (ups.Snapshot, error) {
	p.polls++
	return p.fn(time.Since(p.start))
}

func TestMonitorIntervalsOnFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lbPolls int
		p := &scriptPoller{start: time.Now()}
		p.fn = func(d time.Duration) (ups.Snapshot, error) {
			switch {
			case d >= 5*time.Minute:
				lbPolls++
				return snap(state{status: "OB LB", charge: 50, runtime: -1}), nil
			case d >= time.Minute:
				return snap(state{status: "OB", charge: 90, runtime: -1}), nil
			}
			return snap(state{status: "OL", charge: 100, runtime: -1}), nil
		}
		m, err := ups.NewMonitor(p, ups.MonitorConfig{})
		require.NoError(t, err)
		dec, err := m.Run(t.Context())
		require.NoError(t, err)
		assert.Equal(t, ups.TriggerLowBattery, dec.Trigger)
		assert.Equal(t, 1, lbPolls, "decided on the first poll showing LB: no extra poll")
		// 0..55 s every 5 s = 12 polls; 60..298 s every 2 s = 120 polls; one LB poll.
		assert.Equal(t, 12+120+1, p.polls)
		assert.Equal(t, 5*time.Minute, time.Since(p.start))
	})
}

func TestMonitorDayWithoutAllocations(t *testing.T) {
	// Not parallel: it counts the process's heap allocations.
	synctest.Test(t, func(t *testing.T) {
		p := &scriptPoller{start: time.Now()}
		reply := snap(state{status: "OL CHRG", charge: 100, runtime: 1200})
		p.fn = func(time.Duration) (ups.Snapshot, error) { return reply, nil }
		events := 0
		m, err := ups.NewMonitor(p, ups.MonitorConfig{OnEvent: func(ups.Event) { events++ }})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(t.Context(), 24*time.Hour)
		defer cancel()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err = m.Run(ctx)
		runtime.ReadMemStats(&after)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 24*60*60/5+1, p.polls)
		perPoll := float64(after.Mallocs-before.Mallocs) / float64(p.polls)
		t.Logf("24 h simulated: %d polls, %d allocations in total, %.4f allocs/poll", p.polls, after.Mallocs-before.Mallocs, perPoll)
		assert.Less(t, perPoll, 0.01)
		assert.Zero(t, events)
	})
}

func TestMonitorForwardsFSDWhenCtxEndsRightAfterTheDecision(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := dial(t, s, ups.WithCredentials("monuser", secret.New(monPass)))
	d := c.Device("ups")
	require.NoError(t, d.Login(t.Context()))
	require.NoError(t, d.Primary(t.Context()))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var r recorder
	cfg := fastConfig(&r)
	cfg.ForwardFSD = true
	cfg.OnEvent = func(e ups.Event) {
		r.onEvent(e)
		if e.Kind == ups.EventShutdown {
			cancel() // SIGTERM right after the decision
		}
	}
	m, err := ups.NewMonitor(d, cfg)
	require.NoError(t, err)
	m.Trigger("drill from the test")
	dec, err := m.Run(ctx)
	require.NoError(t, err)
	assert.Equal(t, ups.TriggerManual, dec.Trigger)
	require.Error(t, ctx.Err())
	assert.True(t, s.FSDSet("ups"), "the FSD went out although ctx ended")
	require.Len(t, r.actions, 1)
}
