package routeros

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ID is a RouterOS item id as printed in .id ("*1F"). Treat it as opaque:
// whether ids survive a reboot is not documented.
type ID string

// Record is one item of a reply: property name to wire value. Its methods
// convert values to Go types.
type Record map[string]string

// ID returns the record's .id.
func (r Record) ID() ID { return ID(r[".id"]) }

// Bool parses property k as a RouterOS boolean; a missing property is false.
func (r Record) Bool(k string) bool {
	b, _ := parseBool(r[k])
	return b
}

// Int parses property k as an integer; missing or malformed gives 0.
func (r Record) Int(k string) int64 {
	n, _ := strconv.ParseInt(r[k], 10, 64)
	return n
}

// Duration parses property k as a RouterOS duration; missing or
// malformed gives 0.
func (r Record) Duration(k string) time.Duration {
	d, _ := parseDuration(r[k])
	return d
}

// Prefix parses property k as an address with prefix length (a bare
// address becomes a host prefix).
func (r Record) Prefix(k string) (netip.Prefix, error) { return parsePrefix(r[k]) }

// Addr parses property k as an IP address.
func (r Record) Addr(k string) (netip.Addr, error) {
	return netip.ParseAddr(r[k])
}

// Time parses property k as a RouterOS date-time ("2025-11-27 08:17:04",
// or "nov/27/2025 08:17:04" before 7.10). RouterOS prints no zone: the
// result carries the wall clock labelled UTC. Missing or malformed gives
// the zero Time.
func (r Record) Time(k string) time.Time {
	t, _ := parseTime(r[k])
	return t
}

// parseTime parses a RouterOS date-time; see Record.Time.
func parseTime(s string) (time.Time, error) {
	date, clock, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		return time.Time{}, fmt.Errorf("routeros: invalid date-time %q", truncate(s, 32))
	}
	return parseClock(date, clock, "")
}

var errEmpty = errors.New("empty value")

// parseBool parses a RouterOS boolean: true/false as printed, yes/no as
// accepted on input.
func parseBool(s string) (bool, error) {
	switch s {
	case "true", "yes":
		return true, nil
	case "false", "no":
		return false, nil
	}
	return false, fmt.Errorf("routeros: invalid boolean %q", truncate(s, 32))
}

// formatBool writes a boolean the way RouterOS accepts it on input.
func formatBool(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// parseDuration parses a RouterOS duration: "1w2d3h4m5s", "150ms",
// "5s100ms", a bare number of seconds, or the older "hh:mm:ss" form with
// an optional "1d" style prefix. It never overflows: values beyond
// time.Duration's range are an error.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errEmpty
	}
	if n, err := strconv.ParseUint(s, 10, 63); err == nil {
		if n > math.MaxInt64/uint64(time.Second) {
			return 0, fmt.Errorf("routeros: duration %q out of range", truncate(s, 32))
		}
		return time.Duration(n) * time.Second, nil
	}
	bad := fmt.Errorf("routeros: invalid duration %q", truncate(s, 32))
	var total time.Duration
	add := func(n uint64, unit time.Duration) bool {
		if n > uint64(math.MaxInt64/int64(unit)) {
			return false
		}
		d := time.Duration(n) * unit
		if total > math.MaxInt64-d {
			return false
		}
		total += d
		return true
	}
	rest := s
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		// [Nd]hh:mm:ss
		clock := rest
		if j := strings.LastIndexAny(rest[:i], "wdhms"); j >= 0 {
			clock = rest[j+1:]
			rest = rest[:j+1]
		} else {
			rest = ""
		}
		parts := strings.Split(clock, ":")
		if len(parts) != 3 {
			return 0, bad
		}
		for i, unit := range []time.Duration{time.Hour, time.Minute, time.Second} {
			n, err := strconv.ParseUint(parts[i], 10, 63)
			if err != nil || (i > 0 && n > 59) || !add(n, unit) {
				return 0, bad
			}
		}
		if rest == "" {
			return total, nil
		}
	}
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i > 18 {
			return 0, bad
		}
		n, err := strconv.ParseUint(rest[:i], 10, 63)
		if err != nil {
			return 0, bad
		}
		rest = rest[i:]
		var unit time.Duration
		switch {
		case strings.HasPrefix(rest, "ms"):
			unit, rest = time.Millisecond, rest[2:]
		case strings.HasPrefix(rest, "us"):
			unit, rest = time.Microsecond, rest[2:]
		case strings.HasPrefix(rest, "w"):
			unit, rest = 7*24*time.Hour, rest[1:]
		case strings.HasPrefix(rest, "d"):
			unit, rest = 24*time.Hour, rest[1:]
		case strings.HasPrefix(rest, "h"):
			unit, rest = time.Hour, rest[1:]
		case strings.HasPrefix(rest, "m"):
			unit, rest = time.Minute, rest[1:]
		case strings.HasPrefix(rest, "s"):
			unit, rest = time.Second, rest[1:]
		default:
			return 0, bad
		}
		if !add(n, unit) {
			return 0, bad
		}
	}
	return total, nil
}

// FormatDuration writes d in RouterOS form ("1w2d3h4m5s", "0s").
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		suffix string
		size   time.Duration
	}{{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if n := d / u.size; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.suffix)
			d -= n * u.size
		}
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}

// parsePrefix parses "a.b.c.d/len" (or an IPv6 prefix); a bare address
// becomes a host prefix (/32 or /128). The address keeps its host bits, as
// /ip/address prints it.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("routeros: invalid prefix %q", truncate(s, 64))
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("routeros: invalid prefix %q", truncate(s, 64))
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parsePrefixes parses a comma-separated prefix list, as in WireGuard
// allowed-address.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		p, err := parsePrefix(strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
