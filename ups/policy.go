package ups

import (
	"fmt"
	"time"
)

// Policy says when a power outage must end in a shutdown. The zero value
// means the defaults below. A negative MinCharge, MinRuntime or MaxOnBattery
// disables that trigger; a negative delay (OnBatteryDelay, LowBatteryDelay,
// DeadTime) means no delay, so a negative DeadTime makes the first failed
// poll on battery critical. The triggers are checked on every observation
// and the first one met decides:
//
//  1. FSD in ups.status, at any time, even on line power (NUT: "treat FSD
//     exactly like OB LB").
//  2. OB and LB together, held for LowBatteryDelay. Not subject to
//     OnBatteryDelay: upsmon acts on OB LB at once.
//  3. battery.charge ≤ MinCharge, only when reported and within 0–100.
//  4. battery.runtime ≤ MinRuntime, only when reported: many line-interactive
//     units (a Q1 PowerWalker) have none. On battery, a runtime that jumps
//     upward (by more than half and more than a minute) is ignored for one
//     poll; the previous value stands until the next poll confirms the jump.
//  5. Time on battery ≥ MaxOnBattery, measured on the caller's clock from the
//     OL→OB transition (never from a UPS counter), the safety net that needs
//     no UPS data.
//  6. No good poll for DeadTime while the last known state was OB (upsmon's
//     "promote dead UPS"). DATA-STALE and DRIVER-NOT-CONNECTED count as comm
//     loss; WAIT does not. Comm loss while OL only warns (NOCOMM). While
//     upsd reports WAIT (no driver data yet) the last known state stands:
//     on battery, MaxOnBattery still ends the outage.
//
// Triggers 3–5 count only once the outage is confirmed, after OB has held
// for OnBatteryDelay, so a short blip never shuts anything down. CAL
// (calibration or battery test) suppresses triggers 2–4, as upsmon does;
// FSD, MaxOnBattery and comm loss still apply. Once made, the decision is
// latched: power coming back afterwards does not cancel it (NUT does not
// either). Power coming back before it ends the outage and resets the clock.
type Policy struct {
	OnBatteryDelay  time.Duration // debounce before an outage counts; default 10 s
	LowBatteryDelay time.Duration // how long OB LB must hold; default 0
	MinCharge       float64       // percent; default 30
	MinRuntime      time.Duration // default 5 min
	MaxOnBattery    time.Duration // default 10 min
	DeadTime        time.Duration // comm loss after this long without a good poll; default 15 s
	NoCommRepeat    time.Duration // interval of repeated NOCOMM events; default 5 min
}

func (p Policy) normalized() Policy {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&p.OnBatteryDelay, 10*time.Second)
	def(&p.MinRuntime, 5*time.Minute)
	def(&p.MaxOnBattery, 10*time.Minute)
	def(&p.DeadTime, 15*time.Second)
	def(&p.NoCommRepeat, 5*time.Minute)
	if p.MinCharge == 0 {
		p.MinCharge = 30
	}
	if p.OnBatteryDelay < 0 {
		p.OnBatteryDelay = 0
	}
	if p.LowBatteryDelay < 0 {
		p.LowBatteryDelay = 0
	}
	if p.DeadTime < 0 {
		p.DeadTime = 0
	}
	return p
}

// Trigger is the reason for a shutdown decision.
type Trigger int

// Triggers, in the order the policy checks them.
const (
	NoTrigger           Trigger = iota
	TriggerFSD                  // FSD in ups.status
	TriggerLowBattery           // OB LB
	TriggerCharge               // battery.charge ≤ MinCharge
	TriggerRuntime              // battery.runtime ≤ MinRuntime
	TriggerMaxOnBattery         // on battery for MaxOnBattery
	TriggerCommLost             // no data for DeadTime while on battery
	TriggerManual               // Machine.Trigger or Monitor.Trigger (a drill)
)

var triggerNames = [...]string{"none", "fsd", "low battery", "charge", "runtime", "max time on battery", "comm lost on battery", "manual"}

// String returns a short lower-case name.
func (t Trigger) String() string {
	if t < 0 || int(t) >= len(triggerNames) {
		return fmt.Sprintf("trigger(%d)", int(t))
	}
	return triggerNames[t]
}

// EventKind is the type of an Event; the names mirror upsmon's notify types
// (NOTREADY and READY are the Monitor's own).
type EventKind int

// Event kinds.
const (
	EventOnBattery      EventKind = iota + 1 // ONBATT: OL→OB
	EventOnline                              // ONLINE: OB→OL
	EventLowBattery                          // LOWBATT: LB appeared
	EventFSD                                 // FSD: FSD appeared
	EventCommBad                             // COMMBAD: a poll failed after a good one
	EventCommOK                              // COMMOK: a poll succeeded after failures
	EventNoComm                              // NOCOMM: no good poll for DeadTime (repeated every NoCommRepeat)
	EventReplaceBattery                      // REPLBATT: RB appeared
	EventShutdown                            // SHUTDOWN: the decision was made
	EventNotReady                            // NOTREADY: a Monitor check failed: the shutdown could not be carried out now (Err says why)
	EventReady                               // READY: the checks pass again after an EventNotReady
)

var eventNames = [...]string{"", "ONBATT", "ONLINE", "LOWBATT", "FSD", "COMMBAD", "COMMOK", "NOCOMM", "REPLBATT", "SHUTDOWN", "NOTREADY", "READY"}

// String returns the NUT notify type, e.g. "ONBATT".
func (k EventKind) String() string {
	if k <= 0 || int(k) >= len(eventNames) {
		return fmt.Sprintf("event(%d)", int(k))
	}
	return eventNames[k]
}

// Event is something the machine noticed at one observation.
type Event struct {
	Kind    EventKind // what happened
	Time    time.Time // time of the observation that noticed it
	Status  Status    // last known status
	Trigger Trigger   // for EventShutdown
	Err     error     // for EventCommBad, EventNoComm and EventNotReady
}

// String returns e.g. "ONBATT (OB DISCHRG)".
func (e Event) String() string {
	switch {
	case e.Kind == EventShutdown:
		return e.Kind.String() + " (" + e.Trigger.String() + ")"
	case e.Err != nil:
		return e.Kind.String() + " (" + e.Err.Error() + ")"
	}
	return e.Kind.String() + " (" + e.Status.String() + ")"
}

// Decision is the outcome of the policy. Once Shutdown is true it is latched.
type Decision struct {
	Shutdown  bool          // the lab must shut down; latched once true
	Trigger   Trigger       // the first trigger met
	Time      time.Time     // when the decision was made
	OnBattery time.Duration // time on battery at that moment (0 if on line)
	Last      Snapshot      // last good snapshot
	Reason    string        // human-readable explanation
	DryRun    bool          // set by Monitor in drill mode: report, change nothing
}

// String returns one line for a person: "shut down: <reason>", or "no
// shutdown decided". The reason already names the trigger.
func (d Decision) String() string {
	if !d.Shutdown {
		return "no shutdown decided"
	}
	s := "shut down: " + d.Reason
	if d.DryRun {
		s += ", dry run"
	}
	return s
}

// Machine is the shutdown policy as a pure state machine over (status, poll
// result, clock): it does no I/O and reads no clock, so a test drives it
// through hours of outage in microseconds. It is not safe for concurrent use.
type Machine struct {
	p           Policy
	last        Snapshot
	haveGood    bool
	lastGood    time.Time
	commBad     bool
	firstBad    time.Time
	noCommAt    time.Time
	noComm      bool
	onBatt      bool
	onBattSince time.Time
	lb          bool
	lbSince     time.Time
	rt          Optional[time.Duration] // runtime the triggers use (see Observe)
	rtHeld      bool                    // the last poll's upward jump was ignored
	decision    Decision
}

// NewMachine returns a machine for p (zero fields take the defaults).
func NewMachine(p Policy) *Machine { return &Machine{p: p.normalized()} }

// Policy returns the policy in effect, defaults filled in.
func (m *Machine) Policy() Policy { return m.p }

// OnBattery reports whether the last known state is on battery.
func (m *Machine) OnBattery() bool { return m.onBatt }

// CommBad reports whether the last poll failed.
func (m *Machine) CommBad() bool { return m.commBad }

// Decision returns the latched decision (Shutdown false if none yet).
func (m *Machine) Decision() Decision { return m.decision }

// Observe feeds one poll result taken at time at: the snapshot when err is
// nil, or the poll's error. It appends what happened to events and returns
// it with the decision, which is latched once Shutdown is true. The decision
// is made on the very observation that first meets a trigger.
func (m *Machine) Observe(at time.Time, snap Snapshot, err error, events []Event) ([]Event, Decision) {
	if err != nil {
		return m.observeFailure(at, err, events)
	}
	if m.commBad {
		m.commBad, m.noComm = false, false
		events = append(events, Event{Kind: EventCommOK, Time: at, Status: snap.Status})
	}
	m.haveGood, m.lastGood = true, at
	st := snap.Status
	if !st.Has(OnLine) && !st.Has(OnBattery) && !st.Has(ForcedShutdown) {
		// WAIT or empty: reachable, but no power information. The last
		// known state stands, and so does the safety net that needs no UPS
		// data: a driver stuck in WAIT must not hold off the shutdown.
		if m.onBatt && !m.decision.Shutdown && m.maxOnBattery(at) {
			events = m.decide(at, TriggerMaxOnBattery, "", events)
		}
		return events, m.decision
	}
	prev := m.last.Status
	m.last = snap
	ob := st.Has(OnBattery)
	switch {
	case ob && !m.onBatt:
		m.onBatt, m.onBattSince = true, at
		events = append(events, Event{Kind: EventOnBattery, Time: at, Status: st})
	case !ob && st.Has(OnLine) && m.onBatt:
		m.onBatt, m.lb = false, false
		events = append(events, Event{Kind: EventOnline, Time: at, Status: st})
	}
	if st.Has(LowBattery) && !prev.Has(LowBattery) {
		events = append(events, Event{Kind: EventLowBattery, Time: at, Status: st})
	}
	if st.Has(ForcedShutdown) && !prev.Has(ForcedShutdown) {
		events = append(events, Event{Kind: EventFSD, Time: at, Status: st})
	}
	if st.Has(ReplaceBattery) && !prev.Has(ReplaceBattery) {
		events = append(events, Event{Kind: EventReplaceBattery, Time: at, Status: st})
	}
	if ob && st.Has(LowBattery) {
		if !m.lb {
			m.lb, m.lbSince = true, at
		}
	} else {
		m.lb = false
	}
	m.filterRuntime(snap.Runtime)
	if m.decision.Shutdown {
		return events, m.decision
	}
	if t := m.trigger(at, snap); t != NoTrigger {
		events = m.decide(at, t, "", events)
	}
	return events, m.decision
}

// filterRuntime sets the runtime the triggers use. On battery, a runtime
// that jumps upward by more than half and more than a minute is suspicious
// (a driver re-estimating after a load change, or a glitch): it is ignored
// for one poll, and believed if the next poll confirms it.
func (m *Machine) filterRuntime(rt Optional[time.Duration]) {
	if !m.onBatt || !rt.Valid {
		m.rt, m.rtHeld = rt, false
		return
	}
	if prev := m.rt; prev.Valid && !m.rtHeld && rt.Value > prev.Value+prev.Value/2 && rt.Value-prev.Value > time.Minute {
		m.rtHeld = true
		return
	}
	m.rt, m.rtHeld = rt, false
}

func (m *Machine) trigger(at time.Time, snap Snapshot) Trigger {
	p, st := m.p, snap.Status
	if st.Has(ForcedShutdown) {
		return TriggerFSD
	}
	if !m.onBatt {
		return NoTrigger
	}
	cal := st.Has(Calibrating)
	if !cal && m.lb && at.Sub(m.lbSince) >= p.LowBatteryDelay {
		return TriggerLowBattery
	}
	onFor := at.Sub(m.onBattSince)
	if onFor < p.OnBatteryDelay {
		return NoTrigger
	}
	if c, ok := snap.Charge.Get(); !cal && ok && p.MinCharge >= 0 && c >= 0 && c <= 100 && c <= p.MinCharge {
		return TriggerCharge
	}
	if r, ok := m.rt.Get(); !cal && ok && p.MinRuntime >= 0 && r <= p.MinRuntime {
		return TriggerRuntime
	}
	if m.maxOnBattery(at) {
		return TriggerMaxOnBattery
	}
	return NoTrigger
}

// maxOnBattery reports whether the outage has lasted MaxOnBattery (and past
// the debounce).
func (m *Machine) maxOnBattery(at time.Time) bool {
	onFor := at.Sub(m.onBattSince)
	return m.p.MaxOnBattery >= 0 && onFor >= m.p.MaxOnBattery && onFor >= m.p.OnBatteryDelay
}

func (m *Machine) observeFailure(at time.Time, err error, events []Event) ([]Event, Decision) {
	if !m.commBad {
		m.commBad, m.firstBad = true, at
		events = append(events, Event{Kind: EventCommBad, Time: at, Status: m.last.Status, Err: err})
	}
	ref := m.firstBad
	if m.haveGood {
		ref = m.lastGood
	}
	if at.Sub(ref) < m.p.DeadTime {
		return events, m.decision
	}
	if !m.noComm || at.Sub(m.noCommAt) >= m.p.NoCommRepeat {
		m.noComm, m.noCommAt = true, at
		events = append(events, Event{Kind: EventNoComm, Time: at, Status: m.last.Status, Err: err})
	}
	if m.onBatt && !m.decision.Shutdown {
		events = m.decide(at, TriggerCommLost, "", events)
	}
	return events, m.decision
}

// Trigger makes a manual decision at time at (a drill, or an operator's
// order) unless one is already latched, and returns the latched decision.
func (m *Machine) Trigger(at time.Time, reason string, events []Event) ([]Event, Decision) {
	if !m.decision.Shutdown {
		events = m.decide(at, TriggerManual, reason, events)
	}
	return events, m.decision
}

func (m *Machine) decide(at time.Time, t Trigger, reason string, events []Event) []Event {
	d := Decision{Shutdown: true, Trigger: t, Time: at, Last: m.last}
	if m.onBatt {
		d.OnBattery = at.Sub(m.onBattSince)
	}
	p := m.p
	switch t {
	case TriggerFSD:
		d.Reason = "forced shutdown (FSD) in ups.status " + quote(m.last.Status.String())
	case TriggerLowBattery:
		d.Reason = "on battery with low battery (OB LB)"
	case TriggerCharge:
		d.Reason = fmt.Sprintf("battery charge %g%% at or below %g%%", m.last.Charge.Value, p.MinCharge)
	case TriggerRuntime:
		d.Reason = fmt.Sprintf("battery runtime %s at or below %s", m.rt.Value, p.MinRuntime)
	case TriggerMaxOnBattery:
		d.Reason = fmt.Sprintf("on battery for %s (limit %s)", d.OnBattery, p.MaxOnBattery)
	case TriggerCommLost:
		d.Reason = fmt.Sprintf("no data from the ups for %s while on battery", at.Sub(m.lastGood))
	case TriggerManual:
		d.Reason = "manual trigger"
		if reason != "" {
			d.Reason += ": " + reason
		}
	}
	m.decision = d
	return append(events, Event{Kind: EventShutdown, Time: at, Status: m.last.Status, Trigger: t})
}
