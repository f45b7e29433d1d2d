package routeros_test

import (
	"net/netip"
	"strings"
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

func FuzzAuditRanges(f *testing.F) {
	f.Add("10.1.1.0/24", "10.1.1.0/25", "10.1.1.7-10.1.1.9", "22,80-90")
	f.Add("2001:db8::/64", "2001:db8::/65", "::1", "0-65535")
	f.Fuzz(func(t *testing.T, network, a, b, ports string) {
		for _, pr := range routeros.ParsePorts(ports) {
			if pr[0] < 0 || pr[1] > 65535 || pr[1] < pr[0] {
				t.Fatalf("bad port range %v from %q", pr, ports)
			}
		}
		pieces := routeros.SpanCut(network, []string{a, b})
		p, err := netip.ParsePrefix(network)
		if err != nil || len(pieces) == 0 {
			return
		}
		// The pieces tile the network: its first address starts the first.
		if !strings.HasPrefix(pieces[0], p.Masked().Addr().String()) {
			t.Fatalf("%q cut by %q, %q starts at %q", network, a, b, pieces[0])
		}
	})
}
