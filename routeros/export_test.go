package routeros

import "net/netip"

// Unexported helpers, exported to the external tests (fuzzers, examples).
var (
	ParseBool     = parseBool
	FormatBool    = formatBool
	ParseDuration = parseDuration
	ParsePrefix   = parsePrefix
	ParsePrefixes = parsePrefixes
	ParseClock    = parseClock
	ParseTime     = parseTime
	ParseVersion  = parseVersion
)

// RoundTrips returns how many request/reply exchanges c has made.
func RoundTrips(c *Client) int64 { return c.roundTrips() }

// ParsePorts reads a RouterOS port list.
var ParsePorts = parsePorts

// SpanCut cuts network at the boundaries of the ranges given (address,
// prefix or a-b) and returns the pieces as strings, for the fuzzer.
func SpanCut(network string, by []string) []string {
	p, err := netip.ParsePrefix(network)
	if err != nil {
		return nil
	}
	var spans []span
	for _, b := range by {
		if s, ok := parseSpan(b); ok {
			spans = append(spans, s)
		}
	}
	return spanStrings(cut(spanOf(p), spans))
}
