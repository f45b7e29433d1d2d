package ups

import "strings"

// Flag is one ups.status token known to this package.
type Flag uint32

// The ups.status flags of NUT's docs/new-drivers.txt.
const (
	OnLine         Flag = 1 << iota // OL: mains present
	OnBattery                       // OB: mains absent, running on battery
	LowBattery                      // LB: low battery, raised by the UPS or driver
	HighBattery                     // HB
	ReplaceBattery                  // RB: battery needs replacing
	Charging                        // CHRG
	Discharging                     // DISCHRG
	Bypass                          // BYPASS: no battery protection
	Calibrating                     // CAL: runtime calibration or battery test
	Off                             // OFF: UPS does not power the load
	Overloaded                      // OVER
	Trimming                        // TRIM: bucking high input voltage
	Boosting                        // BOOST: boosting low input voltage
	ForcedShutdown                  // FSD: forced shutdown, set by upsd after FSD or by the UPS
	Alarm                           // ALARM: ups.alarm is set
	Waiting                         // WAIT: upsd has no driver data yet
)

var flagNames = [...]string{"OL", "OB", "LB", "HB", "RB", "CHRG", "DISCHRG", "BYPASS", "CAL", "OFF", "OVER", "TRIM", "BOOST", "FSD", "ALARM", "WAIT"}

// String returns the NUT token of a single flag, or the tokens of several
// flags joined by spaces.
func (f Flag) String() string {
	var b strings.Builder
	for i, name := range flagNames {
		if f&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(name)
		}
	}
	return b.String()
}

// Status is a parsed ups.status value: the known flags plus the raw text,
// which keeps tokens this package does not know.
type Status struct {
	Flags Flag // the known tokens, OR-ed
	raw   string
}

// ParseStatus parses a ups.status value. It accepts any blank-separated
// tokens in any order, case-insensitively; unknown tokens are kept in the raw
// text and reported by Unknown, never an error.
func ParseStatus(s string) Status {
	st := Status{raw: s}
	for i := 0; i < len(s); {
		for i < len(s) && isBlank(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !isBlank(s[j]) {
			j++
		}
		if j > i {
			st.Flags |= lookupFlag(s[i:j])
		}
		i = j
	}
	return st
}

func lookupFlag(tok string) Flag {
	for i, name := range flagNames {
		if tok == name {
			return 1 << i
		}
	}
	for i, name := range flagNames {
		if strings.EqualFold(tok, name) {
			return 1 << i
		}
	}
	return 0
}

// Has reports whether every flag in f is set.
func (s Status) Has(f Flag) bool { return f != 0 && s.Flags&f == f }

// String returns the status as upsd sent it.
func (s Status) String() string { return s.raw }

// Unknown returns the tokens this package does not know, in order.
func (s Status) Unknown() []string {
	var out []string
	for _, tok := range strings.Fields(s.raw) {
		if lookupFlag(tok) == 0 {
			out = append(out, tok)
		}
	}
	return out
}
