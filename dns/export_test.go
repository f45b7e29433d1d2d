package dns

import "time"

// SetClock replaces the Updater's clock (tests of the re-verify cadence).
func SetClock(u *Updater, now func() time.Time) {
	u.mu.Lock()
	u.now = now
	u.mu.Unlock()
}

// Helpers only tests need, fuzzed and table-tested from package dns_test.
var (
	ParseEnvelope     = parseEnvelope
	ParseEcho         = parseEcho
	PickInterfaceAddr = pickInterfaceAddr
)

// MaxEcho is the cap on an echo service's answer.
const MaxEcho = maxEcho
