package ups

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Optional holds a value the UPS may not report. Valid is false when the
// variable is absent, so absent never reads as zero.
type Optional[T any] struct {
	Value T    // the value; zero when not Valid
	Valid bool // whether the UPS reported it
}

// Some returns a valid Optional holding v.
func Some[T any](v T) Optional[T] { return Optional[T]{Value: v, Valid: true} }

// Get returns the value and whether it is present.
func (o Optional[T]) Get() (T, bool) { return o.Value, o.Valid }

// Variable is one NUT variable as the server reported it.
type Variable struct {
	Name  string // e.g. "battery.charge"
	Value string // unquoted, unescaped
}

// Variables is the reply of LIST VAR or LIST RW, in the server's order. The
// wire is untyped; the methods convert the standard variables.
type Variables []Variable

// Get returns the value of name (compared case-insensitively) and whether the
// server reported it.
func (v Variables) Get(name string) (string, bool) {
	for _, x := range v {
		if x.Name == name {
			return x.Value, true
		}
	}
	for _, x := range v {
		if strings.EqualFold(x.Name, name) {
			return x.Value, true
		}
	}
	return "", false
}

// Float returns name as a float64; absent or unparsable values are not valid.
func (v Variables) Float(name string) Optional[float64] {
	s, ok := v.Get(name)
	if !ok {
		return Optional[float64]{}
	}
	return parseFloat(s)
}

// Status returns ups.status parsed; Valid is false when it is absent.
func (v Variables) Status() Optional[Status] {
	s, ok := v.Get("ups.status")
	if !ok {
		return Optional[Status]{}
	}
	return Some(ParseStatus(s))
}

// Charge returns battery.charge in percent.
func (v Variables) Charge() Optional[float64] { return v.Float("battery.charge") }

// Runtime returns battery.runtime (seconds on the wire) as a duration.
func (v Variables) Runtime() Optional[time.Duration] {
	s, ok := v.Get("battery.runtime")
	if !ok {
		return Optional[time.Duration]{}
	}
	return parseSeconds(s)
}

// Map returns the variables as a map, the escape hatch for non-standard names.
func (v Variables) Map() map[string]string {
	m := make(map[string]string, len(v))
	for _, x := range v {
		m[x.Name] = x.Value
	}
	return m
}

// Snapshot reads the variables a power decision needs, typed. Fields the
// UPS does not report are not Valid.
func (v Variables) Snapshot() Snapshot {
	st := v.Status()
	return Snapshot{
		Status:         st.Value,
		Charge:         v.Charge(),
		Runtime:        v.Runtime(),
		Load:           v.Float("ups.load"),
		InputVoltage:   v.Float("input.voltage"),
		OutputVoltage:  v.Float("output.voltage"),
		BatteryVoltage: v.Float("battery.voltage"),
	}
}

// Snapshot is the typed state of one UPS at one poll.
type Snapshot struct {
	Status         Status                  // ups.status
	Charge         Optional[float64]       // battery.charge, percent
	Runtime        Optional[time.Duration] // battery.runtime
	Load           Optional[float64]       // ups.load, percent of rated load
	InputVoltage   Optional[float64]       // input.voltage, V
	OutputVoltage  Optional[float64]       // output.voltage, V
	BatteryVoltage Optional[float64]       // battery.voltage, V
}

// snapshotVars are read by Device.Snapshot, in this order.
var snapshotVars = [...]string{"ups.status", "battery.charge", "battery.runtime", "ups.load", "input.voltage", "output.voltage", "battery.voltage"}

func (s *Snapshot) set(i int, val string) {
	switch i {
	case 0:
		s.Status = ParseStatus(val)
	case 1:
		s.Charge = parseFloat(val)
	case 2:
		s.Runtime = parseSeconds(val)
	case 3:
		s.Load = parseFloat(val)
	case 4:
		s.InputVoltage = parseFloat(val)
	case 5:
		s.OutputVoltage = parseFloat(val)
	case 6:
		s.BatteryVoltage = parseFloat(val)
	}
}

func parseFloat(s string) Optional[float64] {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return Optional[float64]{}
	}
	return Some(f)
}

func parseSeconds(s string) Optional[time.Duration] {
	f := parseFloat(s)
	if !f.Valid || f.Value < 0 || f.Value > float64(math.MaxInt64/int64(time.Second)) {
		return Optional[time.Duration]{}
	}
	return Some(time.Duration(f.Value * float64(time.Second)))
}

// DeviceInfo is one entry of LIST UPS.
type DeviceInfo struct {
	Name        string // the UPS name for Client.Device
	Description string // desc from ups.conf; "Unavailable" when none
}

// VarType is the reply of GET TYPE.
type VarType struct {
	Writable  bool // RW
	Enum      bool // ENUM: values restricted to LIST ENUM
	Range     bool // RANGE: values restricted to LIST RANGE
	Number    bool // NUMBER
	StringMax int  // n of STRING:n, 0 when not a string
}

func parseVarType(words []string) VarType {
	var t VarType
	for _, w := range words {
		switch {
		case strings.EqualFold(w, "RW"):
			t.Writable = true
		case strings.EqualFold(w, "ENUM"):
			t.Enum = true
		case strings.EqualFold(w, "RANGE"):
			t.Range = true
		case strings.EqualFold(w, "NUMBER"):
			t.Number = true
		case len(w) > 7 && strings.EqualFold(w[:7], "STRING:"):
			if n, err := strconv.Atoi(w[7:]); err == nil && n > 0 {
				t.StringMax = n
			}
		}
	}
	return t
}

// Range is one entry of LIST RANGE: the inclusive bounds of a numeric value.
type Range struct {
	Min, Max float64 // inclusive bounds
}
