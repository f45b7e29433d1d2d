package routeros_test

import (
	"testing"
	"time"

	"github.com/thehomelab/homelab/routeros"
)

// The parsers are unexported (users read values through Record); the
// fuzzers reach them through export_test.go.

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"1w2d3h4m5s", "150ms", "00:05:00", "1d02:00:00", "25", "", "9999999999999999999w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := routeros.ParseDuration(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("negative duration %v from %q", d, s)
		}
		// What we print, we read back (at millisecond precision).
		d = d.Truncate(time.Millisecond)
		back, err := routeros.ParseDuration(routeros.FormatDuration(d))
		if err != nil || back != d {
			t.Fatalf("round trip %q → %v → %q → %v, %v", s, d, routeros.FormatDuration(d), back, err)
		}
	})
}

func FuzzParseBool(f *testing.F) {
	for _, s := range []string{"true", "false", "yes", "no", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := routeros.ParseBool(s)
		if err != nil {
			return
		}
		if got, _ := routeros.ParseBool(routeros.FormatBool(b)); got != b {
			t.Fatalf("round trip of %q", s)
		}
	})
}

func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{"203.0.113.45/32", "10.0.0.1", "2001:db8::/32", "1.2.3.4/33", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := routeros.ParsePrefix(s)
		if err != nil {
			_, _ = routeros.ParsePrefixes(s)
			_ = routeros.NormalizeListAddress(s)
			return
		}
		q, err := routeros.ParsePrefix(p.String())
		if err != nil || q != p {
			t.Fatalf("round trip %q → %v → %v, %v", s, p, q, err)
		}
		if n := routeros.NormalizeListAddress(s); n == "" {
			t.Fatalf("empty normalisation of %q", s)
		}
	})
}

func FuzzParseClock(f *testing.F) {
	f.Add("2026-11-26", "14:03:07", "+01:00")
	f.Add("nov/26/2026", "00:00:00", "")
	f.Fuzz(func(t *testing.T, date, clock, offset string) {
		_, _ = routeros.ParseClock(date, clock, offset)
		_, _ = routeros.ParseTime(date + " " + clock)
		_, _, _ = routeros.ParseVersion(date)
	})
}
