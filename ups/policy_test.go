package ups_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/ups"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// state is what the UPS reports at one poll: status, charge and runtime
// (negative: not reported), or a poll error.
type state struct {
	status  string
	charge  float64
	runtime float64
	err     error
}

func snap(s state) ups.Snapshot {
	out := ups.Snapshot{Status: ups.ParseStatus(s.status)}
	if s.charge >= 0 {
		out.Charge = ups.Some(s.charge)
	}
	if s.runtime >= 0 {
		out.Runtime = ups.Some(time.Duration(s.runtime * float64(time.Second)))
	}
	return out
}

type result struct {
	events    []string // "t=12s ONBATT"
	decision  ups.Decision
	decidedAt time.Duration
	polls     int          // polls up to and including the deciding one
	final     ups.Decision // the machine's decision after the last poll
	shutdowns int          // SHUTDOWN events seen
}

// simulate polls every second from 0 to end through a fresh Machine on a
// fake clock; script gives the UPS state at each second.
func simulate(p ups.Policy, end time.Duration, script func(t time.Duration) state) result {
	m := ups.NewMachine(p)
	var r result
	var evs []ups.Event
	for t := time.Duration(0); t <= end; t += time.Second {
		s := script(t)
		var d ups.Decision
		evs, d = m.Observe(t0.Add(t), snap(s), s.err, evs[:0])
		for _, e := range evs {
			r.events = append(r.events, "t="+t.String()+" "+e.Kind.String())
			if e.Kind == ups.EventShutdown {
				r.shutdowns++
			}
		}
		if d.Shutdown && !r.decision.Shutdown {
			r.decision, r.decidedAt, r.polls = d, t, int(t/time.Second)+1
		}
	}
	r.final = m.Decision()
	return r
}

const sec = time.Second

func TestPolicyScenarios(t *testing.T) {
	t.Parallel()
	stale := &ups.Error{Code: "DATA-STALE"}
	online := state{status: "OL CHRG", charge: 100, runtime: 1200}
	tests := []struct {
		name      string
		policy    ups.Policy
		end       time.Duration
		script    func(t time.Duration) state
		trigger   ups.Trigger // NoTrigger: no shutdown expected
		at        time.Duration
		events    []string // must appear, in order
		notEvents []string
	}{
		{
			name: "blip shorter than the debounce", end: 30 * time.Minute,
			script: func(t time.Duration) state {
				if t >= 10*sec && t < 15*sec {
					return state{status: "OB DISCHRG", charge: 20, runtime: 60}
				}
				return online
			},
			events: []string{"t=10s ONBATT", "t=15s ONLINE"},
		},
		{
			name: "OB then LB decides on the first LB poll", end: 5 * time.Minute,
			script: func(t time.Duration) state {
				switch {
				case t >= 40*sec:
					return state{status: "OB DISCHRG LB", charge: 80, runtime: 900}
				case t >= 10*sec:
					return state{status: "OB DISCHRG", charge: 80, runtime: 900}
				}
				return online
			},
			trigger: ups.TriggerLowBattery, at: 40 * sec,
			events: []string{"t=10s ONBATT", "t=40s LOWBATT", "t=40s SHUTDOWN"},
		},
		{
			name: "OB LB at once is not debounced", end: time.Minute,
			script: func(t time.Duration) state {
				if t >= 10*sec {
					return state{status: "OB LB", charge: 90, runtime: -1}
				}
				return online
			},
			trigger: ups.TriggerLowBattery, at: 10 * sec,
		},
		{
			name: "LowBatteryDelay debounces OB LB", policy: ups.Policy{LowBatteryDelay: 5 * sec}, end: time.Minute,
			script: func(t time.Duration) state {
				if t >= 10*sec {
					return state{status: "OB LB", charge: 90, runtime: -1}
				}
				return online
			},
			trigger: ups.TriggerLowBattery, at: 15 * sec,
		},
		{
			name: "runtime missing: charge decides", end: 20 * time.Minute,
			script: func(t time.Duration) state {
				if t < 10*sec {
					return state{status: "OL", charge: 100, runtime: -1}
				}
				return state{status: "OB DISCHRG", charge: 100 - float64((t-10*sec)/(5*sec)), runtime: -1}
			},
			trigger: ups.TriggerCharge, at: 360 * sec,
		},
		{
			name: "runtime present decides", end: 20 * time.Minute,
			script: func(t time.Duration) state {
				if t < 10*sec {
					return online
				}
				return state{status: "OB DISCHRG", charge: 90, runtime: 1200 - (t-10*sec).Seconds()*3}
			},
			trigger: ups.TriggerRuntime, at: 310 * sec,
		},
		{
			name: "charge below minimum waits for the debounce", end: time.Minute,
			script: func(t time.Duration) state {
				if t >= 10*sec {
					return state{status: "OB", charge: 20, runtime: -1}
				}
				return online
			},
			trigger: ups.TriggerCharge, at: 20 * sec,
		},
		{
			name: "charge stuck: max time on battery is the safety net", end: time.Hour,
			script: func(t time.Duration) state {
				if t >= 10*sec {
					return state{status: "OB DISCHRG", charge: 100, runtime: -1}
				}
				return online
			},
			trigger: ups.TriggerMaxOnBattery, at: 610 * sec,
		},
		{
			name: "insane charge is ignored", end: 5 * time.Minute,
			script: func(t time.Duration) state {
				if t >= 10*sec {
					return state{status: "OB", charge: -5, runtime: -1}
				}
				return online
			},
		},
		{
			name: "comm loss while OB is critical", end: 5 * time.Minute,
			script: func(t time.Duration) state {
				switch {
				case t >= 20*sec:
					return state{err: stale}
				case t >= 10*sec:
					return state{status: "OB DISCHRG", charge: 90, runtime: 1000}
				}
				return online
			},
			trigger: ups.TriggerCommLost, at: 34 * sec,
			events: []string{"t=10s ONBATT", "t=20s COMMBAD", "t=34s NOCOMM", "t=34s SHUTDOWN"},
		},
		{
			name: "short comm loss while OB recovers without a decision", end: 2 * time.Minute,
			script: func(t time.Duration) state {
				switch {
				case t >= 20*sec && t < 30*sec: // 10 s without data, DeadTime is 15 s
					return state{err: stale}
				case t >= 10*sec:
					return state{status: "OB DISCHRG", charge: 90, runtime: 1000}
				}
				return online
			},
			events:    []string{"t=10s ONBATT", "t=20s COMMBAD", "t=30s COMMOK"},
			notEvents: []string{"NOCOMM"},
		},
		{
			name: "OB LB shorter than LowBatteryDelay, then power returns", policy: ups.Policy{LowBatteryDelay: 5 * sec}, end: 2 * time.Minute,
			script: func(t time.Duration) state {
				if (t >= 10*sec && t < 13*sec) || (t >= 60*sec && t < 63*sec) {
					return state{status: "OB LB", charge: 90, runtime: -1}
				}
				return online
			},
			events: []string{"t=10s ONBATT", "t=10s LOWBATT", "t=13s ONLINE", "t=1m0s ONBATT", "t=1m3s ONLINE"},
		},
		{
			name: "comm loss while OL only warns", end: 20 * time.Minute,
			script: func(t time.Duration) state {
				if t >= 20*sec && t < 15*time.Minute {
					return state{err: errors.New("connection refused")}
				}
				return online
			},
			events: []string{"t=20s COMMBAD", "t=34s NOCOMM", "t=5m34s NOCOMM", "t=10m34s NOCOMM", "t=15m0s COMMOK"},
		},
		{
			name: "no data ever only warns", end: time.Minute,
			script: func(time.Duration) state { return state{err: &ups.Error{Code: "DRIVER-NOT-CONNECTED"}} },
			events: []string{"t=0s COMMBAD", "t=15s NOCOMM"},
		},
		{
			name: "WAIT is not comm loss", end: 3 * time.Minute,
			script: func(t time.Duration) state {
				switch {
				case t >= 20*sec:
					return state{status: "WAIT", charge: -1, runtime: -1}
				case t >= 10*sec:
					return state{status: "OB", charge: 90, runtime: 1000}
				}
				return online
			},
			notEvents: []string{"COMMBAD", "NOCOMM"},
		},
		{
			name: "WAIT for the rest of an outage still ends at max time on battery", end: 15 * time.Minute,
			script: func(t time.Duration) state {
				switch {
				case t >= 20*sec:
					return state{status: "WAIT", charge: -1, runtime: -1}
				case t >= 10*sec:
					return state{status: "OB", charge: 90, runtime: 1000}
				}
				return online
			},
			trigger: ups.TriggerMaxOnBattery, at: 610 * sec,
			notEvents: []string{"COMMBAD", "NOCOMM"},
		},
		{
			name: "FSD while OL", end: time.Minute,
			script: func(t time.Duration) state {
				if t >= 30*sec {
					return state{status: "FSD OL", charge: 100, runtime: 1200}
				}
				return online
			},
			trigger: ups.TriggerFSD, at: 30 * sec,
			events: []string{"t=30s FSD", "t=30s SHUTDOWN"},
		},
		{
			name: "CAL never triggers LB, charge or runtime", end: 9 * time.Minute,
			script: func(t time.Duration) state {
				if t >= 10*sec {
					return state{status: "OB CAL LB", charge: 10, runtime: 30}
				}
				return online
			},
		},
		{
			name: "CAL still ends at max time on battery", end: 15 * time.Minute,
			script: func(t time.Duration) state {
				if t >= 10*sec {
					return state{status: "OB CAL LB", charge: 10, runtime: 30}
				}
				return online
			},
			trigger: ups.TriggerMaxOnBattery, at: 610 * sec,
		},
		{
			name: "power returns after the decision: latched", end: 2 * time.Minute,
			script: func(t time.Duration) state {
				switch {
				case t >= 41*sec:
					return online
				case t >= 40*sec:
					return state{status: "OB LB", charge: 50, runtime: 600}
				case t >= 10*sec:
					return state{status: "OB", charge: 90, runtime: 1000}
				}
				return online
			},
			trigger: ups.TriggerLowBattery, at: 40 * sec,
			events: []string{"t=40s SHUTDOWN", "t=41s ONLINE"},
		},
		{
			name: "power returns before the decision: the outage clock restarts", end: 17 * time.Minute,
			script: func(t time.Duration) state {
				if (t >= 10*sec && t < 300*sec) || t >= 400*sec {
					return state{status: "OB", charge: 90, runtime: -1}
				}
				return online
			},
			trigger: ups.TriggerMaxOnBattery, at: 1000 * sec,
			events: []string{"t=10s ONBATT", "t=5m0s ONLINE", "t=6m40s ONBATT"},
		},
		{
			name: "runtime jumping upward is ignored for one poll", end: time.Minute,
			script: func(t time.Duration) state {
				switch {
				case t >= 20*sec:
					return state{status: "OB DISCHRG", charge: 90, runtime: 1500}
				case t >= 10*sec:
					return state{status: "OB DISCHRG", charge: 90, runtime: 290}
				}
				return online
			},
			trigger: ups.TriggerRuntime, at: 20 * sec,
		},
		{
			name: "a confirmed upward runtime is believed", end: 2 * time.Minute,
			script: func(t time.Duration) state {
				switch {
				case t >= 15*sec:
					return state{status: "OB DISCHRG", charge: 90, runtime: 1500}
				case t >= 10*sec:
					return state{status: "OB DISCHRG", charge: 90, runtime: 350}
				}
				return online
			},
		},
		{
			name: "RB is reported, not critical", end: time.Minute,
			script: func(time.Duration) state { return state{status: "OL RB", charge: 100, runtime: 1200} },
			events: []string{"t=0s REPLBATT"},
		},
		{
			name: "disabled thresholds", policy: ups.Policy{MinCharge: -1, MinRuntime: -1, MaxOnBattery: -1}, end: 2 * time.Hour,
			script: func(t time.Duration) state { return state{status: "OB", charge: 1, runtime: 1} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := simulate(tt.policy, tt.end, tt.script)
			if tt.trigger == ups.NoTrigger {
				assert.False(t, r.decision.Shutdown, "unexpected %v", r.decision)
			} else {
				require.True(t, r.decision.Shutdown, "no decision; events %v", r.events)
				assert.Equal(t, tt.trigger, r.decision.Trigger, r.decision.Reason)
				assert.Equal(t, tt.at, r.decidedAt, "decision on the first poll that shows the trigger")
				assert.Equal(t, t0.Add(tt.at), r.decision.Time)
				assert.NotEmpty(t, r.decision.Reason)
				// Latched: every later poll (power back, comm back, the
				// trigger still true) leaves the first decision as it was.
				assert.Equal(t, r.decision, r.final, "decision latched")
				assert.Equal(t, 1, r.shutdowns, "one SHUTDOWN event; events %v", r.events)
			}
			if tt.trigger == ups.NoTrigger {
				assert.False(t, r.final.Shutdown)
				assert.Zero(t, r.shutdowns)
			}
			i := 0
			for _, e := range r.events {
				if i < len(tt.events) && e == tt.events[i] {
					i++
				}
				for _, ne := range tt.notEvents {
					assert.False(t, strings.HasSuffix(e, " "+ne), "unexpected %s", e)
				}
			}
			assert.Equal(t, len(tt.events), i, "events %v, want in order %v", r.events, tt.events)
		})
	}
}

func TestPolicyDecisionLatencyNoExtraPoll(t *testing.T) {
	t.Parallel()
	// Every trigger is decided by the very poll that first shows it: polls
	// counted from the start equal the index of that poll plus one.
	r := simulate(ups.Policy{}, time.Hour, func(t time.Duration) state {
		switch {
		case t >= 100*sec:
			return state{status: "OB LB", charge: 40, runtime: 500}
		case t >= 10*sec:
			return state{status: "OB", charge: 90, runtime: 900}
		}
		return state{status: "OL", charge: 100, runtime: 1200}
	})
	assert.Equal(t, 101, r.polls)
	assert.Equal(t, 100*sec, r.decidedAt)
}

func TestManualTrigger(t *testing.T) {
	t.Parallel()
	m := ups.NewMachine(ups.Policy{})
	evs, d := m.Observe(t0, snap(state{status: "OL", charge: 100, runtime: 1200}), nil, nil)
	assert.Empty(t, evs)
	assert.False(t, d.Shutdown)
	evs, d = m.Trigger(t0.Add(sec), "drill", nil)
	require.True(t, d.Shutdown)
	assert.Equal(t, ups.TriggerManual, d.Trigger)
	assert.Equal(t, "manual trigger: drill", d.Reason)
	assert.Equal(t, "SHUTDOWN (manual)", evs[0].String())
	_, d2 := m.Trigger(t0.Add(2*sec), "again", nil)
	assert.Equal(t, d, d2, "latched")
	assert.Equal(t, "shut down: manual trigger: drill", d.String())
	d.DryRun = true
	assert.Equal(t, "shut down: manual trigger: drill, dry run", d.String())
	assert.Equal(t, "no shutdown decided", ups.Decision{}.String())
}

func TestTriggerAndEventNames(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "low battery", ups.TriggerLowBattery.String())
	assert.Equal(t, "ONBATT", ups.EventOnBattery.String())
	assert.Equal(t, "REPLBATT", ups.EventReplaceBattery.String())
	assert.Equal(t, "NOTREADY", ups.EventNotReady.String())
	assert.Equal(t, "READY", ups.EventReady.String())
	assert.Equal(t, "trigger(99)", ups.Trigger(99).String())
}

func TestNegativeValuesDisableTriggersButNotCommLoss(t *testing.T) {
	t.Parallel()
	// A negative threshold disables its trigger; a negative delay is no
	// delay, so a negative DeadTime is critical on the first failed poll.
	r := simulate(ups.Policy{MinCharge: -1, MinRuntime: -1, MaxOnBattery: -1, OnBatteryDelay: -1, DeadTime: -1}, time.Minute,
		func(t time.Duration) state {
			switch {
			case t >= 30*sec:
				return state{err: errors.New("connection refused")}
			case t >= 10*sec:
				return state{status: "OB", charge: 1, runtime: 1}
			}
			return state{status: "OL", charge: 100, runtime: 1200}
		})
	require.True(t, r.decision.Shutdown)
	assert.Equal(t, ups.TriggerCommLost, r.decision.Trigger)
	assert.Equal(t, 30*sec, r.decidedAt)
}
